//! How often a camera reports an employee who stays in view, and the face snapshot it sends.
//!
//! A track reports its identity once, when it settles; presence needs more than that, since an
//! employee who sits in front of a camera for an hour must not count as gone after the presence
//! timeout. So while a settled track stays visible the camera reports its employee again, at most
//! once per `sighting_interval_sec` per employee (several tracks of one person, e.g. after a
//! brief occlusion, do not multiply the reports).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use image::RgbImage;

use crate::frame::encode_jpeg;
use crate::geometry::BBox;

/// When each employee was last reported by one camera.
#[derive(Debug, Clone)]
pub struct SightingClock {
    interval: Duration,
    last: HashMap<String, DateTime<Utc>>,
}

impl SightingClock {
    pub fn new(interval_sec: u32) -> Self {
        Self {
            interval: Duration::seconds(interval_sec.into()),
            last: HashMap::new(),
        }
    }

    /// Notes a report of `employee_id` at `at` (e.g. a track that just settled).
    pub fn reported(&mut self, employee_id: &str, at: DateTime<Utc>) {
        self.last.insert(employee_id.to_string(), at);
    }

    /// Whether `employee_id`, seen at `at`, is due another report; if so, counts it as reported.
    pub fn due(&mut self, employee_id: &str, at: DateTime<Utc>) -> bool {
        let due = self
            .last
            .get(employee_id)
            .is_none_or(|last| at - *last >= self.interval);
        if due {
            self.reported(employee_id, at);
        }
        due
    }

    /// Drops employees not reported for an interval (they are due anyway), so the map holds only
    /// the people currently in view.
    pub fn forget_stale(&mut self, now: DateTime<Utc>) {
        let interval = self.interval;
        self.last.retain(|_, last| now - *last < interval);
    }
}

/// JPEG of the face in `bbox` with some margin around it.
pub fn face_snapshot(frame: &RgbImage, bbox: &BBox, quality: u8) -> Vec<u8> {
    let b = bbox.expanded(0.3, frame.width(), frame.height());
    let crop = image::imageops::crop_imm(
        frame,
        b.x1 as u32,
        b.y1 as u32,
        (b.width() as u32).max(1),
        (b.height() as u32).max(1),
    )
    .to_image();
    encode_jpeg(&crop, quality)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(sec: i64) -> DateTime<Utc> {
        "2026-11-25T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(sec)
    }

    #[test]
    fn an_employee_in_view_is_due_once_per_interval() {
        let mut clock = SightingClock::new(15);
        clock.reported("ana", at(0));
        let due: Vec<i64> = (1..=46).filter(|s| clock.due("ana", at(*s))).collect();
        assert_eq!(due, vec![15, 30, 45]);
        assert!(
            clock.due("bob", at(46)),
            "each employee has their own clock"
        );
        assert!(!clock.due("bob", at(47)));
    }

    #[test]
    fn stale_entries_are_forgotten_and_due_again() {
        let mut clock = SightingClock::new(15);
        clock.reported("ana", at(0));
        clock.reported("bob", at(10));
        clock.forget_stale(at(20));
        assert_eq!(clock.last.len(), 1);
        assert!(clock.due("ana", at(20)));
    }
}
