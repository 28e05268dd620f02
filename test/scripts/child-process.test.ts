/**
 * The runner the tests, the demo, the fuzzer and the benchmarks share (scripts/child-process.ts),
 * against real node children: what a wait counts, what is kept, and how a child ends.
 */
import { ChildFailed, NodeChild, runNode, runOk } from '../../scripts/child-process';

/** A child that prints every IPC message it gets as a line, and exits on "exit". */
const ECHO = `process.on('message', (m) => { if (m === 'exit') process.exit(3); process.stdout.write(m + '\\n'); }); process.send('ready');`;

/** A child that writes "a", a stray byte and the first two bytes of "€"; its last byte and a newline once told. */
const SPLIT = `process.stdout.write(Buffer.from([0x61, 0xff, 0xe2, 0x82])); process.once('message', () => process.stdout.write(Buffer.from([0xac, 0x0a]), () => process.exit(0)));`;

function echoChild(opts: { keepChars?: number } = {}): NodeChild {
  return new NodeChild(['-e', ECHO], { name: 'echo', ipc: true, ...opts });
}

describe('NodeChild', () => {
  test('waitFor resolves with the whole line that matched', async () => {
    const c = echoChild();
    try {
      await c.nextMessage();
      c.child.send('12:00 info  agent: started pid=7');
      await expect(c.waitFor('agent: started')).resolves.toBe('12:00 info  agent: started pid=7');
    } finally {
      await c.stop();
    }
  });

  test('output printed before a mark never satisfies a wait after it: the child ending first rejects it', async () => {
    const c = echoChild();
    await c.nextMessage();
    c.child.send('x');
    await c.waitFor('x');
    const mark = c.mark();
    c.child.send('x');
    c.child.send('exit');
    const wait = c.waitFor('x', { after: mark, count: 2 });
    await expect(wait).rejects.toThrow(ChildFailed);
    await expect(wait).rejects.toThrow(/echo: ended before printing x/);
    expect(await c.exited).toEqual({ code: 3, signal: null });
  });

  test('with keepChars only the tail is kept, and marks still count from the start', async () => {
    const c = echoChild({ keepChars: 8 });
    try {
      await c.nextMessage();
      c.child.send('a'.repeat(20));
      await c.waitFor('aaaaaaa\n');
      expect(c.stdout).toBe('aaaaaaa\n');
      expect(c.mark().stdout).toBe(21);
      const mark = c.mark();
      c.child.send('b');
      await expect(c.waitFor(/^b$/m, { after: mark })).resolves.toBe('b');
    } finally {
      await c.stop();
    }
  });

  test('stop sends the signal and resolves with how it ended', async () => {
    const c = echoChild();
    await c.nextMessage();
    expect(c.running).toBe(true);
    expect(await c.stop('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
    expect(c.running).toBe(false);
  });

  test('with keepBytes every byte is kept as written, and the text is decoded across chunks', async () => {
    const c = new NodeChild(['-e', SPLIT], { name: 'split', ipc: true, keepBytes: true });
    try {
      await c.waitFor('a');
      c.child.send('go');
      expect(await c.closed).toEqual({ code: 0, signal: null });
      expect(c.bytes).toEqual({ stdout: Buffer.from([0x61, 0xff, 0xe2, 0x82, 0xac, 0x0a]), stderr: Buffer.alloc(0) });
      expect(c.stdout).toBe('a\uFFFD€\n');
    } finally {
      await c.stop();
    }
  });

  test('without keepBytes there are no bytes to read', async () => {
    const c = new NodeChild(['-e', 'process.exit(0)'], { name: 'textonly' });
    await c.closed;
    expect(() => c.bytes).toThrow('textonly: started without keepBytes');
  });

  test('nextMessage rejects once the child has exited without sending one', async () => {
    const c = new NodeChild(['-e', 'process.exit(0)'], { name: 'quiet', ipc: true });
    await expect(c.nextMessage()).rejects.toThrow(/quiet: exited 0 before sending a message/);
  });
});

describe('runNode and runOk', () => {
  test('input goes to stdin; without it stdin is empty', async () => {
    const cat = ['-e', 'process.stdin.pipe(process.stdout)'];
    await expect(runNode(cat, { input: 'abc' })).resolves.toMatchObject({ code: 0, signal: null, stdout: 'abc', stderr: '' });
    await expect(runNode(cat)).resolves.toMatchObject({ code: 0, stdout: '' });
  });

  test('a child that exits without reading its input is a result, not an error', async () => {
    // More than a pipe holds, so the write cannot complete before the child is gone.
    await expect(runNode(['-e', 'process.exit(5)'], { input: 'x'.repeat(1 << 20) })).resolves.toMatchObject({ code: 5, signal: null });
  });

  test('bytes hold the output as written; an executable runs in node\'s place', async () => {
    const r = await runNode(['-c', "printf 'a\\377\\n'; printf e >&2"], { executable: '/bin/sh' });
    expect(r).toMatchObject({ code: 0, signal: null, stdout: 'a\uFFFD\n', stderr: 'e' });
    expect(r.bytes).toEqual({ stdout: Buffer.from([0x61, 0xff, 0x0a]), stderr: Buffer.from('e') });
  });

  test('runOk returns the run when it exits 0 and names the command with its stderr otherwise', async () => {
    const ok = await runOk('echo', ['-e', 'console.log("hi")']);
    expect(ok.stdout).toBe('hi\n');
    expect(ok.ns).toBeGreaterThan(0);
    await expect(runOk('failing', ['-e', 'console.error("bad thing"); process.exit(4)'])).rejects.toThrow(new ChildFailed('failing exited 4: bad thing'));
  });
});
