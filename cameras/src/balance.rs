//! How many cameras each live worker should run: as even as the workers' capacities allow
//! ("water filling"), and the same answer on every worker given the same database snapshot, so
//! that workers converge without talking to each other.

/// The quota of each worker, in the order given (which must be the same on every worker, e.g. by
/// worker id): `capacities[i]` is worker i's `max_cameras`. Quotas add up to `cameras`, or to the
/// total capacity when that is smaller; no two quotas differ by more than one unless capacity caps
/// the smaller one; a remainder goes to the workers listed first.
pub fn quotas(capacities: &[usize], cameras: usize) -> Vec<usize> {
    let total: usize = capacities.iter().sum();
    let wanted = cameras.min(total);
    if wanted == 0 {
        return vec![0; capacities.len()];
    }
    // The smallest level whose filling holds every camera wanted.
    let filled = |level: usize| -> usize { capacities.iter().map(|&c| c.min(level)).sum() };
    let (mut low, mut high) = (0, capacities.iter().copied().max().unwrap_or(0));
    while low < high {
        let mid = (low + high) / 2;
        if filled(mid) >= wanted {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    let level = low;
    let mut quotas: Vec<usize> = capacities.iter().map(|&c| c.min(level)).collect();
    // Level - 1 holds fewer than wanted, so enough workers sit at the level to give back the excess.
    let mut excess = filled(level) - wanted;
    for quota in quotas.iter_mut().rev() {
        if excess == 0 {
            break;
        }
        if *quota == level {
            *quota -= 1;
            excess -= 1;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::quotas;

    #[test]
    fn cameras_split_evenly_with_the_remainder_first() {
        assert_eq!(quotas(&[64, 64], 5), vec![3, 2]);
        assert_eq!(quotas(&[64, 64, 64], 6), vec![2, 2, 2]);
        assert_eq!(quotas(&[64], 5), vec![5]);
        assert_eq!(quotas(&[64, 64], 0), vec![0, 0]);
        assert_eq!(quotas(&[], 3), Vec::<usize>::new());
    }

    #[test]
    fn capacity_caps_a_worker_and_the_others_take_the_rest() {
        assert_eq!(quotas(&[1, 10], 4), vec![1, 3]);
        assert_eq!(quotas(&[2, 2], 7), vec![2, 2], "no more than the capacity");
        assert_eq!(quotas(&[3, 1, 3], 6), vec![3, 1, 2]);
    }

    #[test]
    fn quotas_always_add_up() {
        for cameras in 0..40 {
            for caps in [vec![1, 2, 3], vec![5, 5], vec![7], vec![2, 9, 4, 1]] {
                let q = quotas(&caps, cameras);
                let total: usize = caps.iter().sum();
                assert_eq!(
                    q.iter().sum::<usize>(),
                    cameras.min(total),
                    "{caps:?} {cameras}"
                );
                assert!(q.iter().zip(&caps).all(|(q, c)| q <= c));
                let spread = |q: &[usize]| {
                    let uncapped: Vec<usize> = q
                        .iter()
                        .zip(&caps)
                        .filter(|(q, c)| q < c)
                        .map(|(q, _)| *q)
                        .collect();
                    let max = q.iter().max().copied().unwrap_or(0);
                    uncapped.iter().all(|u| max <= u + 1)
                };
                assert!(spread(&q), "{caps:?} {cameras} -> {q:?}");
            }
        }
    }
}
