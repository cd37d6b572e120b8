// One time zone everywhere: the schedule's. Default dates, day windows, every time shown and
// every time typed are in it (not in the browser's zone), and the page says which it is.

let zone = "UTC";
const listeners = new Set<() => void>();

/** The schedule's IANA time zone (what every date and time on the page is in). */
export function timeZone(): string {
  return zone;
}

export function setTimeZone(next: string) {
  if (!next || next === zone) return;
  try {
    new Intl.DateTimeFormat("en", { timeZone: next });
  } catch {
    return; // a zone this browser does not know: keep the last good one
  }
  zone = next;
  listeners.forEach((l) => l());
}

export function onTimeZoneChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The wall-clock parts of `instant` in the schedule's zone. */
function parts(instant: Date): Record<string, number> {
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  return Object.fromEntries(f.formatToParts(instant).filter((p) => p.type !== "literal").map((p) => [p.type, Number(p.value)]));
}

/** How far the zone's wall clock is ahead of UTC at `instant`, in ms. */
function offsetAt(instant: Date): number {
  const p = parts(instant);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(instant.getTime() / 1000) * 1000;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "YYYY-MM-DD" of `instant` (default now) in the schedule's zone. */
export function dayOf(instant: Date = new Date()): string {
  const p = parts(instant);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** "HH:MM" of `instant` in the schedule's zone. */
export function clockOf(instant: Date): string {
  const p = parts(instant);
  return `${pad(p.hour)}:${pad(p.minute)}`;
}

/** The instant at which the schedule's wall clock shows `day` ("YYYY-MM-DD") `time` ("HH:MM"). */
export function zonedInstant(day: string, time = "00:00"): Date {
  const [y, m, d] = day.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  // Two rounds settle the offset also next to a daylight-saving change.
  let instant = wall - offsetAt(new Date(wall));
  instant = wall - offsetAt(new Date(instant));
  return new Date(instant);
}

/** `day` plus `n` calendar days. */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** [start of `from`, start of the day after `to`) in the schedule's zone, as ISO instants. */
export function dayWindow(from: string, to: string): { from: string; to: string } {
  return { from: zonedInstant(from).toISOString(), to: zonedInstant(addDays(to || from, 1)).toISOString() };
}

/** A date and time for people, in the schedule's zone. */
export function formatInstant(iso?: string | null, withDate = true): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone, ...(withDate ? { dateStyle: "medium" } : {}), timeStyle: "short",
  } as Intl.DateTimeFormatOptions).format(new Date(iso));
}

/** "Times in Asia/Jakarta" — shown wherever dates and times are. */
export function zoneNote(): string {
  return `Times in ${zone}`;
}
