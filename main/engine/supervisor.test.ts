/**
 * The supervisor's policy with a fake engine process (no real process, short times): the state
 * machine, restarts with back-off, the crash cap, and the watchdog declaring an engine that stops
 * answering hung, killing it and starting a new one.
 */
import { describe, expect, it } from 'vitest';
import type { EngineStateEvent } from '../../shared/api';
import type { EngineControl, HostControl } from './channel';
import { EngineSupervisor, WATCHDOG_DEFAULTS, watchdogFromEnv, type EngineProcess } from './supervisor';

class FakeEngine implements EngineProcess {
  static nextPid = 1000;
  readonly pid = FakeEngine.nextPid++;
  answering = true;
  killed = false;
  pings = 0;
  private control: ((m: EngineControl) => void)[] = [];
  private exits: ((how: string) => void)[] = [];
  send(m: HostControl): void {
    if (m.cdx !== 'ping') return;
    this.pings++;
    if (this.answering) setTimeout(() => this.emit({ cdx: 'pong', seq: m.seq }), 1);
  }
  terminate(): void {
    this.exit('exited with code 0');
  }
  kill(): void {
    this.killed = true;
    this.exit('was killed by SIGKILL');
  }
  onControl(l: (m: EngineControl) => void): void {
    this.control.push(l);
  }
  onExit(l: (how: string) => void): void {
    this.exits.push(l);
  }
  emit(m: EngineControl): void {
    for (const l of this.control) l(m);
  }
  exit(how: string): void {
    setTimeout(() => this.exits.forEach((l) => l(how)), 1);
  }
}

function harness(opts: ConstructorParameters<typeof EngineSupervisor>[1] = {}) {
  const spawned: FakeEngine[] = [];
  const states: EngineStateEvent[] = [];
  const sup = new EngineSupervisor(() => {
    const e = new FakeEngine();
    spawned.push(e);
    setTimeout(() => e.emit({ cdx: 'ready', pid: e.pid }), 5);
    return e;
  }, { backoffMs: 5, ...opts });
  sup.onState((s) => states.push(s));
  const until = async (pred: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out; states: ${states.map((s) => s.state).join(' ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { sup, spawned, states, until };
}

describe('engine supervisor', () => {
  it('starts, becomes ready, and restarts a crashed engine (clients are told to fail their calls)', async () => {
    const { sup, spawned, states, until } = harness({ watchdog: false });
    sup.start();
    await until(() => sup.current !== null);
    expect(states.map((s) => s.state)).toEqual(['starting', 'ready']);
    spawned[0].exit('was killed by SIGSEGV');
    await until(() => spawned.length === 2 && sup.current === spawned[1]);
    expect(states.map((s) => s.state)).toEqual(['starting', 'ready', 'crashed', 'restarting', 'ready']);
    const crashed = states[2];
    expect(crashed).toMatchObject({ failCalls: 'E_ENGINE_DIED', restarts: 1 });
    expect(crashed.reason).toMatch(/killed by SIGSEGV; starting a new one/);
    expect(states[4]).toMatchObject({ pid: spawned[1].pid, restarts: 1 });
    await sup.stop();
  });

  it('gives up after too many crashes within the window', async () => {
    const { sup, spawned, states, until } = harness({ watchdog: false, maxCrashes: 2 });
    sup.start();
    for (let i = 0; i < 3; i++) {
      await until(() => sup.current === spawned[i]);
      spawned[i].exit('exited with code 70');
    }
    await until(() => states.at(-1)?.state === 'failed');
    expect(spawned).toHaveLength(3);
    expect(states.at(-1)).toMatchObject({ failCalls: 'E_ENGINE_DIED' });
    expect(states.at(-1)!.reason).toMatch(/3 times in a row; not restarting/);
    await new Promise((r) => setTimeout(r, 50));
    expect(spawned).toHaveLength(3);
  });

  it('never restarts with maxCrashes 0 (the CLI)', async () => {
    const { sup, spawned, states, until } = harness({ watchdog: false, maxCrashes: 0 });
    sup.start();
    await until(() => sup.current !== null);
    spawned[0].exit('was killed by SIGKILL');
    await until(() => states.at(-1)?.state === 'failed');
    expect(states.map((s) => s.state)).toEqual(['starting', 'ready', 'failed']);
  });

  it('the watchdog declares an engine that stops answering hung, kills it and starts a new one', async () => {
    const { sup, spawned, states, until } = harness({ watchdog: { intervalMs: 10, timeoutMs: 80 } });
    sup.start();
    await until(() => sup.current !== null);
    // answering engines are left alone
    await new Promise((r) => setTimeout(r, 200));
    expect(spawned).toHaveLength(1);
    expect(spawned[0].pings).toBeGreaterThan(5);
    spawned[0].answering = false;
    const stoppedAt = Date.now();
    await until(() => states.some((s) => s.state === 'hung'));
    const hungAfter = Date.now() - stoppedAt;
    expect(hungAfter).toBeGreaterThanOrEqual(70);
    expect(hungAfter).toBeLessThan(1000);
    const hung = states.find((s) => s.state === 'hung')!;
    expect(hung).toMatchObject({ failCalls: 'E_ENGINE_HUNG', pid: spawned[0].pid });
    expect(hung.reason).toMatch(/stopped answering for \d+\.\d s/);
    expect(spawned[0].killed).toBe(true);
    await until(() => sup.current === spawned[1]);
    // the hang is reported once: no 'crashed' for the engine that was killed for hanging
    expect(states.map((s) => s.state)).toEqual(['starting', 'ready', 'hung', 'restarting', 'ready']);
    await sup.stop();
  });

  it('an engine that never says ready counts as hung', async () => {
    const states: EngineStateEvent[] = [];
    const spawned: FakeEngine[] = [];
    const sup = new EngineSupervisor(() => {
      const e = new FakeEngine();
      spawned.push(e);
      if (spawned.length > 1) setTimeout(() => e.emit({ cdx: 'ready', pid: e.pid }), 5);
      return e;
    }, { startTimeoutMs: 50, backoffMs: 5, watchdog: false });
    sup.onState((s) => states.push(s));
    sup.start();
    for (let i = 0; i < 200 && !sup.current; i++) await new Promise((r) => setTimeout(r, 5));
    expect(states.map((s) => s.state)).toEqual(['starting', 'hung', 'restarting', 'ready']);
    expect(states[1].reason).toMatch(/did not start within/);
    expect(spawned[0].killed).toBe(true);
    await sup.stop();
  });
});

describe('watchdog settings', () => {
  it('come from CDX_ENGINE_WATCHDOG_MS when the host gives none (0: off)', () => {
    expect(watchdogFromEnv({})).toEqual(WATCHDOG_DEFAULTS);
    expect(watchdogFromEnv({ CDX_ENGINE_WATCHDOG_MS: '1500' })).toEqual({ timeoutMs: 1500, intervalMs: 300 });
    expect(watchdogFromEnv({ CDX_ENGINE_WATCHDOG_MS: '60000' })).toEqual({ timeoutMs: 60_000, intervalMs: 1000 });
    expect(watchdogFromEnv({ CDX_ENGINE_WATCHDOG_MS: '0' })).toBeNull();
    expect(watchdogFromEnv({ CDX_ENGINE_WATCHDOG_MS: 'soon' })).toEqual(WATCHDOG_DEFAULTS);
  });
});
