/**
 * End-to-end tests: web mode in Debian's Chromium (never a downloaded browser), and the Electron
 * app where an Electron binary exists (skipped with the reason otherwise). WebGL works headless
 * through SwiftShader.
 */
import { defineConfig } from '@playwright/test';

export const CHROMIUM = process.env.CDX_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  outputDir: './artifacts/results',
  timeout: 60_000,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: './artifacts/report.json' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    },
  },
});
