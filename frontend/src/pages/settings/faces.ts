// An employee's face library: every template with its photo, pose, date and source; delete or
// replace one; enrol new photos (file or webcam). The server checks each new photo against every
// enrolled face: one that matches somebody else ("this face matches X") or is far from this
// employee's own faces is refused until the admin confirms it here.
import { gql, GqlError } from "../../api";
import { h, attempt, confirmDialog, fmtTime, modal, toast } from "../../dom";
import type { EmployeeRow } from "./employees";
import type { FaceTemplate as Face } from "../../generated/graphql";

const POSES = ["FRONT", "LEFT", "RIGHT"];
const SOURCES: Record<string, string> = { UPLOAD: "uploaded photo", WEBCAM: "webcam", VISITOR: "camera (visitor)", EMBEDDING: "API" };
const NEEDS_CONFIRMATION = ["FACE_MATCHES_OTHER", "FACE_FAR_FROM_OWN"];

type FaceTemplate = Pick<Face, "id" | "pose" | "addedAt" | "source" | "photoUrl">;

function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** One webcam frame as base64 JPEG. */
async function captureWebcam(): Promise<string> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  try {
    const video = h("video", { autoplay: true, playsInline: true, muted: true }) as HTMLVideoElement;
    video.srcObject = stream;
    await video.play();
    await new Promise<void>((r) => (video.videoWidth ? r() : video.addEventListener("loadeddata", () => r(), { once: true })));
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d")!.drawImage(video, 0, 0);
    return canvas.toDataURL("image/jpeg", 0.92).replace(/^data:[^,]*,/, "");
  } finally {
    stream.getTracks().forEach((t) => t.stop());
  }
}

async function enrol(employeeId: string, pose: string, photo: string, source: string, confirm: boolean) {
  await gql(`mutation($e: String!, $p: Pose!, $b: String!, $s: FaceSource!, $c: Boolean!) {
    enrollFacePhoto(employeeId: $e, pose: $p, photoBase64: $b, source: $s, confirm: $c) { id } }`,
    { e: employeeId, p: pose, b: photo, s: source, c: confirm });
}

export function faceLibrary(employee: EmployeeRow, admin: boolean, changed: () => Promise<void>) {
  const grid = h("div.grid.grid-cols-2.sm:grid-cols-3.gap-3", { id: "face-library" });
  const check = h("div.space-y-2", { id: "face-check" });

  /** Enrols; a questioned photo shows the server's reason and an "Enrol anyway" button. */
  const tryEnrol = (pose: string, photo: string, source: string, replacing?: FaceTemplate) =>
    attempt(async () => {
      check.replaceChildren();
      const store = async (confirm: boolean) => {
        await enrol(employee.id, pose, photo, source, confirm);
        if (replacing) await gql(`mutation($e: String!, $t: String!) { removeFaceTemplate(employeeId: $e, templateId: $t) { id } }`, { e: employee.id, t: replacing.id });
        toast(`${pose.toLowerCase()} face enrolled for ${employee.name}`);
        await reload();
      };
      try {
        await store(false);
      } catch (error) {
        if (!(error instanceof GqlError && NEEDS_CONFIRMATION.includes(error.code ?? ""))) throw error;
        check.replaceChildren(h("div.rounded-lg.border.border-amber-300.bg-amber-50.p-3.text-sm.space-y-2", { role: "alert" },
          h("p.font-medium.text-amber-900.face-check-message", error.message),
          h("div.flex.gap-2",
            h("button.btn-ghost", { type: "button", onclick: () => check.replaceChildren() }, "Don't enrol"),
            h("button.btn-danger", { type: "button", id: "enrol-anyway", onclick: () => attempt(async () => { check.replaceChildren(); await store(true); }) }, "Enrol anyway"))));
      }
    });

  const tile = (t: FaceTemplate) => h("figure.border.border-slate-200.rounded-lg.p-2.space-y-1.face-template", { "data-template": t.id },
    t.photoUrl
      ? h("img.w-full.aspect-square.object-cover.rounded.bg-slate-200", { src: t.photoUrl, alt: `${employee.name}, ${t.pose.toLowerCase()}`, loading: "lazy" })
      : h("div.w-full.aspect-square.rounded.bg-slate-200.text-xs.text-slate-500.flex.items-center.justify-center.text-center.p-1", "no photo kept"),
    h("figcaption.text-xs.text-slate-600",
      h("div.font-medium", t.pose.toLowerCase()),
      h("div", fmtTime(t.addedAt)),
      h("div", t.source ? SOURCES[t.source] ?? t.source.toLowerCase() : "source not recorded")),
    admin ? h("div.flex.gap-1.flex-wrap",
      h("label.btn-ghost.cursor-pointer.text-xs", "Replace",
        h("input.hidden", { type: "file", accept: "image/*", onchange: async (ev: Event) => {
          const file = (ev.target as HTMLInputElement).files?.[0];
          if (file) tryEnrol(t.pose, await fileToBase64(file), "UPLOAD", t);
        } })),
      h("button.btn-danger.text-xs.delete-template", { type: "button", onclick: async () => {
        if (!(await confirmDialog(`Delete this ${t.pose.toLowerCase()} face of ${employee.name}? The cameras stop matching it.`, "Delete face"))) return;
        attempt(async () => {
          await gql(`mutation($e: String!, $t: String!) { removeFaceTemplate(employeeId: $e, templateId: $t) { id } }`, { e: employee.id, t: t.id });
          await reload();
        }, "Face deleted");
      } }, "Delete")) : null);

  const reload = async () => {
    const data = await gql(`query($id: String!) { employee(id: $id) { faces { id pose addedAt source photoUrl } } }`, { id: employee.id });
    const faces: FaceTemplate[] = data.employee?.faces ?? [];
    grid.replaceChildren(...(faces.length ? faces.map(tile) : [h("p.text-sm.text-slate-500.col-span-full", "No face enrolled yet: the cameras cannot recognise this employee.")]));
    await changed();
  };

  const pose = h("select.input", { name: "pose", "aria-label": "pose" }, ...POSES.map((p) => h("option", { value: p }, p.toLowerCase()))) as HTMLSelectElement;
  const file = h("input.text-sm.max-w-full", { type: "file", accept: "image/*", name: "photo" }) as HTMLInputElement;
  const upload = admin ? h("div.flex.items-center.gap-2.flex-wrap.border-t.border-slate-200.pt-3",
    h("span.text-sm.font-medium", "Add a face:"), pose, file,
    h("button.btn", { type: "button", id: "upload-face", onclick: async () => {
      const chosen = file.files?.[0];
      if (!chosen) return toast("choose a photo first", "error");
      tryEnrol(pose.value, await fileToBase64(chosen), "UPLOAD");
    } }, "Upload"),
    h("button.btn-ghost", { type: "button", onclick: () => attempt(async () => tryEnrol(pose.value, await captureWebcam(), "WEBCAM")) }, "Webcam")) : null;

  modal(`Faces of ${employee.name}`, h("div.space-y-3", grid, check, upload),
    (close) => [h("button.btn-ghost", { type: "button", id: "close-faces", onclick: close }, "Close")]);
  attempt(reload);
}
