// Canvases drawn at the screen's pixel density.

// Sizes `canvas` to `width` x `height` CSS pixels at the device pixel
// ratio and returns its cleared 2D context, scaled to CSS pixels.
export function sizedContext(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}
