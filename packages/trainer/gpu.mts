import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const a: any = await gpu.requestAdapter();
const i = a.info;
console.log({vendor: i.vendor, arch: i.architecture, device: i.device, desc: i.description, fb: i.isFallbackAdapter, afb: a.isFallbackAdapter, features: [...a.features].slice(0,5)});
