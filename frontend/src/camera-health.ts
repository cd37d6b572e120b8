// How a camera's analysis rate reads on the dashboard (Live page cards, Settings → Cameras).
import type { CameraStatus } from "./generated/graphql";

type Rate = Partial<Pick<CameraStatus, "fps" | "idle">>;

/**
 * "7.9 fps" while analysing; "idle" while motion gating sees a still scene and nobody is tracked:
 * only key frames are decoded then, so the fps (about 1, the key-frame rate) would read as a
 * camera falling behind.
 */
export function rateText(health: Rate | null | undefined): string {
  if (!health || health.fps == null) return "— fps";
  if (health.idle) return "idle (no motion)";
  return `${Number(health.fps).toFixed(1)} fps`;
}

/** Frame counters worth a line on a card: dropped (short of CPU) and not decoded (idle). */
export function frameCounters(health: Partial<Pick<CameraStatus, "droppedFrames" | "undecodedFrames">> | null | undefined): {
  dropped: string | null;
  undecoded: string | null;
} {
  return {
    dropped: health?.droppedFrames ? `${health.droppedFrames} frames dropped` : null,
    undecoded: health?.undecodedFrames ? `${health.undecodedFrames} frames not decoded while idle` : null,
  };
}
