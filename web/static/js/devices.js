// Local devices: camera and microphone, falling back to audio only when there is no camera.
// FACING ("user": the front camera of a phone) picks the camera where a device has several.
export async function localMedia(facing = null) {
  const video = { width: 640, height: 480, frameRate: 30, ...(facing ? { facingMode: facing } : {}) };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video });
  } catch (error) {
    if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) {
      return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    }
    throw error;
  }
}
