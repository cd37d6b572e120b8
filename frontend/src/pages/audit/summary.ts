// One line a person can read per audit event ("admin changed Ana Lopez's profile"), from the
// event's type and payload plus the names of employees and cameras.
import { formatInstant } from "../../time";

export interface Names {
  employees: Map<string, string>;
  cameras: Map<string, string>;
}

export interface AuditEvent {
  seq: number;
  at: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  employeeId: string | null;
  cameraId: string | null;
  actor: string | null;
  payload: Record<string, any>;
}

/** "admin", "camera CAM1", "absence watcher", "command line". */
export function who(actor: string | null): string {
  if (!actor) return "—";
  const [kind, name] = actor.split(/:(.*)/s);
  switch (kind) {
    case "user": return name;
    case "camera": return `camera ${name}`;
    case "system": return `system (${name.replace(/-/g, " ")})`;
    case "cli": return "command line";
    default: return actor;
  }
}

/** "EmployeeEntered" → "employee entered". */
export function humanType(type: string): string {
  return type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

export function summary(e: AuditEvent, names: Names): string {
  // The payload is the stored event, tagged by aggregate then by type: {"Employee": {"Enrolled": {…}}}.
  const byAggregate = e.payload && typeof e.payload === "object" ? Object.values(e.payload)[0] : undefined;
  const p = byAggregate?.[e.eventType] ?? e.payload?.[e.eventType] ?? {};
  const emp = names.employees.get(e.employeeId ?? e.aggregateId) ?? p.profile?.name ?? "an employee";
  const cam = (id?: string | null) => (id ? names.cameras.get(id) ?? id : "a camera");
  const time = (iso?: string) => (iso ? formatInstant(iso, false) : "—");
  switch (e.eventType) {
    case "Enrolled": return `Enrolled ${p.profile?.name} (${p.profile?.code})`;
    case "ProfileUpdated": return `Profile set to ${p.profile?.name} · ${p.profile?.code} · ${p.profile?.department || "no department"}`;
    case "FaceTemplateAdded": return `Added a ${String(p.pose ?? "").toLowerCase()} face to ${emp}${p.source ? ` (${String(p.source).toLowerCase()})` : ""}`;
    case "FaceTemplateRemoved": return `Removed a face of ${emp}`;
    case "Deactivated": return `Deactivated ${emp}`;
    case "Reactivated": return `Reactivated ${emp}`;
    case "Deleted": return `Deleted ${emp}`;
    case "FaceRecognized": return `${emp} seen by ${cam(p.camera_id)} (similarity ${Number(p.similarity).toFixed(2)})`;
    case "EmployeeEntered": return `${emp} came in at ${cam(p.camera_id)}`;
    case "EmployeeExited": return `${emp} left (last seen ${time(p.at)} by ${cam(p.camera_id)})`;
    case "AttendanceCorrected": return `Attendance of ${emp} on ${p.day} corrected: in ${time(p.first_in)}, out ${time(p.last_out)}${p.note ? ` — “${p.note}”` : ""}`;
    case "Added": return e.aggregateType === "camera" ? `Added camera ${p.name}${p.location ? ` (${p.location})` : ""}` : humanType(e.eventType);
    case "Renamed": return `Camera renamed to ${p.name}`;
    case "StreamUrlChanged": return `Stream address of ${cam(e.aggregateId)} changed`;
    case "Enabled": return `Enabled ${cam(e.aggregateId)}`;
    case "Disabled": return `Disabled ${cam(e.aggregateId)}`;
    case "Removed": return `Removed ${cam(e.aggregateId)}`;
    case "ScheduleSaved": return `Schedule saved (${p.timezone}, at most one alert per ${p.alert_min_interval_sec} s)`;
    case "ModeSwitched": return `Monitoring mode set to ${String(p.mode).toLowerCase()}`;
    case "ManualTrackingSet": return `Manual tracking turned ${p.on ? "on" : "off"}`;
    case "Paused": return `Monitoring paused until ${formatInstant(p.until)}`;
    case "Resumed": return "Monitoring resumed";
    case "UserCreated": return `Created user ${p.username} (${String(p.role).toLowerCase()})`;
    case "PasswordChanged": return `Changed the password of ${e.aggregateId}`;
    case "RoleChanged": return `${e.aggregateId} is now ${String(p.role).toLowerCase()}`;
    case "UserDisabled": return `Disabled user ${e.aggregateId}`;
    case "Acknowledged": return `Acknowledged the alert about ${emp}${p.note ? `: “${p.note}”` : ""}`;
    case "Seen": return `Unknown face seen by ${cam(p.camera_id)}`;
    case "Resolved": return `Unknown visitor ${Object.keys(p.resolution ?? {})[0]?.toLowerCase() ?? String(p.resolution ?? "").toLowerCase()}`;
    case "CodeClaimed": return `Code ${e.aggregateId.toUpperCase()} reserved for ${emp}`;
    case "CodeReleased": return `Code ${e.aggregateId.toUpperCase()} released by ${emp}`;
    case "SeatsCounted": return `Admins counted: ${(p.admins ?? []).join(", ")}`;
    case "SeatGranted": return `${p.username} holds an admin seat`;
    case "SeatRevoked": return `${p.username} gave up their admin seat`;
    case "LogsReset": return `Log rows reset (${String(p.scope).toLowerCase()})`;
    default: return `${humanType(e.eventType)} · ${e.aggregateType} ${e.aggregateId}`;
  }
}
