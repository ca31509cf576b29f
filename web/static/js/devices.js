// Local devices: camera and microphone, falling back to audio only when there is no camera.
export async function localMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480, frameRate: 30 } });
  } catch (error) {
    if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) {
      return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    }
    throw error;
  }
}
