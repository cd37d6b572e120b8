// Alerts as people read them, plus the optional browser notification and sound for new ones.
import type { Alert } from "./generated/graphql";
import { formatInstant } from "./time";

/** What the dashboard selects of an alert (ALERT_FIELDS), typed from the schema. */
export type AlertItem = Pick<Alert, "id" | "employeeId" | "employeeName" | "cameraId" | "cameraName" | "raisedAt" | "detectedAt"
  | "resolvedAt" | "open" | "reason" | "snapshotUrl" | "acknowledgedAt" | "acknowledgedBy" | "ackNote">;

export const ALERT_FIELDS = "id employeeId employeeName cameraId cameraName raisedAt detectedAt resolvedAt open reason snapshotUrl acknowledgedAt acknowledgedBy ackNote";

const REASONS: Record<string, string> = {
  EXIT_DURING_WORK_HOURS: "left during work hours",
};

/** "Ana Lopez left during work hours at 10:32, last seen by Front door". */
export function describeAlert(a: AlertItem): string {
  const what = REASONS[a.reason] ?? a.reason.toLowerCase().replace(/_/g, " ");
  return `${a.employeeName} ${what} at ${formatInstant(a.raisedAt)}, last seen by ${a.cameraName ?? a.cameraId}`;
}

/** "back at 10:47" / "still away". */
export function alertStatus(a: AlertItem): string {
  return a.open ? "still away" : `back at ${formatInstant(a.resolvedAt, false)}`;
}

/** "admin" from the actor "user:admin". */
export function actorName(actor: string | null): string {
  return actor?.replace(/^user:/, "") ?? "—";
}

const SOUND_KEY = "facewatch.alertSound";
const NOTIFY_KEY = "facewatch.alertNotify";

export const alertPrefs = {
  get sound() { return localStorage.getItem(SOUND_KEY) === "on"; },
  set sound(on: boolean) { localStorage.setItem(SOUND_KEY, on ? "on" : "off"); },
  get notify() { return localStorage.getItem(NOTIFY_KEY) === "on" && "Notification" in window && Notification.permission === "granted"; },
  async enableNotify(on: boolean): Promise<boolean> {
    if (on && "Notification" in window && Notification.permission !== "granted") await Notification.requestPermission();
    localStorage.setItem(NOTIFY_KEY, on ? "on" : "off");
    return this.notify;
  },
};

let audio: AudioContext | null = null;

function beep() {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  } catch {
    // No audio output: the badge and the notification still tell.
  }
}

/** A new alert: a browser notification and a sound, each if the user turned it on. */
export function announce(a: AlertItem) {
  if (alertPrefs.notify) new Notification("facewatch alert", { body: describeAlert(a), tag: `alert-${a.id}` });
  if (alertPrefs.sound) beep();
}
