// `prepare`: npm runs it after `npm ci` or `npm install` in a clone, so that `npx herald` works
// there, and some npm versions run it too when a project installs Herald from its tarball. The
// tarball ships dist/ built (by `prepack`) and neither the sources nor the compiler (a dev
// dependency): there is nothing to build, and trying would fail the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (existsSync('src') && existsSync('tsconfig.build.json')) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build', '--silent'], { stdio: 'inherit' });
  process.exitCode = build.status ?? 1;
}
