import { checkSuiteTempDir } from './temp-dir';

export default function globalTeardown(): void {
  checkSuiteTempDir();
}
