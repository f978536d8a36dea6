import {describe, expect, it} from 'vitest';

import type {CallbackContext} from '../train/index.js';
import {Reporter, type OutStream} from './progress.js';

class Sink implements OutStream {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(s: string) {
    this.text += s;
    return true;
  }
}

/** Drives one phase of 2 epochs × 3 steps through the reporter's callbacks. */
async function drive(r: Reporter) {
  const p = r.phase('distilled', 2, 3);
  // Only the fields the reporter reads; the rest of a context does not concern it.
  const ctx = (c: Partial<CallbackContext>) => c as CallbackContext;
  for (let epoch = 0; epoch < 2; epoch++) {
    await p.callbacks.onEpochBegin?.(ctx({epoch, batch: 0, logs: {}}));
    for (let batch = 0; batch < 3; batch++) {
      await p.callbacks.onBatchEnd?.(ctx({epoch, batch, logs: {loss: 1 / (batch + 1)}, imagesPerSecond: 1000}));
    }
    await p.callbacks.onEpochEnd?.(ctx({epoch, batch: 3,
      logs: {epoch, loss: 0.5 - epoch * 0.1, accuracy: 0.8, valAccuracy: 0.75, imagesPerSecond: 1234}}));
  }
  p.stop();
}

// SGR sequences (colours, bold), as opposed to the bar's cursor movements.
const SGR = /\x1b\[[0-9;]*m/;

describe('Reporter', () => {
  it('without a terminal writes one plain line per epoch', async () => {
    const err = new Sink(false);
    await drive(new Reporter({err, out: new Sink(false)}));
    expect(err.text).not.toContain('\x1b');
    expect(err.text.trim().split('\n')).toEqual([
      'distilled epoch 1/2 | loss 0.5000 | accuracy 0.8000 | val accuracy 0.7500 | 1234 img/s',
      'distilled epoch 2/2 | loss 0.4000 | accuracy 0.8000 | val accuracy 0.7500 | 1234 img/s',
    ]);
  });

  it('on a terminal draws a bar with phase, epoch, step, loss, images/s and ETA, coloured', async () => {
    const err = new Sink(true);
    const r = new Reporter({err, out: new Sink(false), env: {}});
    expect(r.mode).toBe('bar');
    await drive(r);
    expect(err.text).toMatch(SGR);
    // The last frame: epoch 2, step 3 of 3, the mean loss of its 3 steps (1 + 1/2 + 1/3) / 3.
    expect(err.text).toMatch(/distilled.*epoch 2\/2 step 3\/3 \|.*\| loss 0\.6111 \| 1000 img\/s \| ETA \d+s/);
  });

  it('on a terminal with NO_COLOR draws the bar without colours', async () => {
    const err = new Sink(true);
    await drive(new Reporter({err, out: new Sink(false), env: {NO_COLOR: '1'}}));
    expect(err.text).toMatch(/epoch 2\/2 step 3\/3/);
    expect(err.text).not.toMatch(SGR);
  });

  it('--json writes one JSON event per line on stdout and nothing on stderr', async () => {
    const err = new Sink(true);
    const out = new Sink(false);
    const r = new Reporter({json: true, err, out});
    await drive(r);
    r.event({event: 'results', results: {runs: []}});
    expect(err.text).toBe('');
    const events = out.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['phase', 'epoch', 'epoch', 'phase-end', 'results']);
    expect(events[2]).toMatchObject({phase: 'distilled', epoch: 2, epochs: 2, loss: 0.4, valAccuracy: 0.75});
  });

  it('--quiet writes nothing', async () => {
    const err = new Sink(true);
    const out = new Sink(false);
    const r = new Reporter({quiet: true, err, out});
    await drive(r);
    r.info('loading');
    expect(err.text + out.text).toBe('');
  });
});
