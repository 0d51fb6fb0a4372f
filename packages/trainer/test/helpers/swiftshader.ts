/** Runs a helper script in a child process whose Dawn can find Chromium's SwiftShader Vulkan driver. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** Runs `helpers/<script>` with SwiftShader visible to Dawn and returns its JSON output. */
export function runWithSwiftShader<T>(script: string, args: string[] = []): T {
  if (!existsSync(ICD)) {
    throw new Error(
      `SwiftShader's Vulkan ICD is missing at ${ICD}: install Debian's chromium package (apt-get install -y chromium), which ships it`,
    );
  }
  const env: NodeJS.ProcessEnv = { ...process.env, VK_ICD_FILENAMES: ICD };
  // Chromium ships its own libvulkan.so.1 beside the ICD; use it where the system has none.
  if (
    !existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1') &&
    !existsSync('/usr/lib/aarch64-linux-gnu/libvulkan.so.1')
  ) {
    env.LD_LIBRARY_PATH = ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const file = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', file, ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) throw new Error(`${script} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as T;
}
