import { describe, expect, it } from 'vitest';
import { escapeForLog, isBlank, sanitizeShort, sanitizeText, toWellFormed } from '../../src/protocol/sanitize.js';

const ESC = '\x1b';

describe('sanitizeText', () => {
  it.each([
    // [name, input, expected]
    ['plain ASCII is unchanged', 'hello, world!', 'hello, world!'],
    ['TAB is kept', 'a\tb', 'a\tb'],
    ['Hebrew is kept exactly', 'שלום לכולם, מה נשמע?', 'שלום לכולם, מה נשמע?'],
    ['Arabic is kept exactly', 'مرحبا بالعالم', 'مرحبا بالعالم'],
    ['emoji with skin tone, ZWJ and variation selector kept', 'hi 👋🏽 👩‍👩‍👧 ❤️', 'hi 👋🏽 👩‍👩‍👧 ❤️'],
    ['combining marks kept', 'e\u0301 שָׁלוֹם', 'e\u0301 שָׁלוֹם'],
    ['LRM/RLM marks are not overrides and are kept', 'a\u200eb\u200fc', 'a\u200eb\u200fc'],
    ['NUL removed', 'a\x00b', 'ab'],
    ['BEL removed', 'a\x07b', 'ab'],
    ['backspace removed', 'abc\x08\x08\x08xyz', 'abcxyz'],
    ['CR and LF removed', 'a\rb\nc', 'abc'],
    ['vertical tab and form feed removed', 'a\x0bb\x0cc', 'abc'],
    ['every C0 except TAB removed', Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + 'x', '\tx'],
    ['DEL removed', 'a\x7fb', 'ab'],
    ['CSI colour sequence removed whole', `${ESC}[31mred${ESC}[0m`, 'red'],
    ['CSI with parameters and intermediates', `a${ESC}[1;31;4mb${ESC}[?25lc${ESC}[2 qd`, 'abcd'],
    ['CSI clear screen and cursor home', `${ESC}[2J${ESC}[Hhi`, 'hi'],
    ['C1 CSI removed whole', '\x9b31mred', 'red'],
    ['OSC title ended by BEL', `${ESC}]0;pwned\x07ok`, 'ok'],
    ['OSC ended by ST', `${ESC}]0;pwned${ESC}\\ok`, 'ok'],
    ['OSC 8 hyperlink keeps only the visible text', `${ESC}]8;;http://evil.example/${ESC}\\click${ESC}]8;;${ESC}\\`, 'click'],
    ['OSC 52 clipboard write removed', `${ESC}]52;c;ZWNobyBwd25lZA==\x07x`, 'x'],
    ['unterminated OSC removed to the end', `ok${ESC}]0;never ends`, 'ok'],
    ['C1 OSC ended by C1 ST', '\x9d0;title\x9cok', 'ok'],
    ['DCS removed whole', `${ESC}Pq#0;2;0;0;0${ESC}\\ok`, 'ok'],
    ['C1 DCS removed whole', '\x90payload\x9cok', 'ok'],
    ['APC removed whole', `${ESC}_apc payload${ESC}\\ok`, 'ok'],
    ['C1 APC removed whole', '\x9fapc payload\x9cok', 'ok'],
    ['PM and SOS removed whole', `${ESC}^pm${ESC}\\a${ESC}Xsos${ESC}\\b`, 'ab'],
    ['two-byte escape (RIS) removed', `${ESC}cok`, 'ok'],
    ['charset designation removed', `${ESC}(0lqk${ESC}(B`, 'lqk'],
    ['lone ESC at the end removed', `ok${ESC}`, 'ok'],
    ['bidi overrides and isolates removed', 'a\u202ab\u202bc\u202cd\u202de\u202ef\u2066g\u2067h\u2068i\u2069j', 'abcdefghij'],
    ['Trojan-source style reordering removed, Hebrew kept', 'שלום \u202eabc\u202c', 'שלום abc'],
    ['mixed: escapes, controls and Hebrew', `${ESC}[1mשלום${ESC}[0m\x07 👋\r`, 'שלום 👋'],
    ['only controls leaves the empty string', `${ESC}[2J\x00\x07`, ''],
  ])('%s', (_name, input, expected) => {
    expect(sanitizeText(input)).toBe(expected);
  });

  it('every C1 control that introduces no sequence is removed on its own', () => {
    const introducers = new Set([0x90, 0x98, 0x9b, 0x9d, 0x9e, 0x9f]);
    for (let code = 0x80; code <= 0x9f; code++) {
      if (introducers.has(code)) continue;
      expect(sanitizeText(`a${String.fromCharCode(code)}b`), code.toString(16)).toBe('ab');
    }
  });

  it('output never contains a control character or bidi override', () => {
    const nasty = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join('') + '\u202a\u202e\u2066\u2069';
    const out = sanitizeText(nasty + nasty);
    expect(out).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  });
});

describe('isBlank', () => {
  it.each([
    ['', true],
    ['   ', true],
    ['\t \t', true],
    ['a', false],
    [' ש ', false],
  ])('%j -> %s', (input, expected) => {
    expect(isBlank(input)).toBe(expected);
  });
});

describe('lone surrogates', () => {
  it.each([
    ['lone high surrogate', 'x\ud800y', 'x\ufffdy'],
    ['lone low surrogate', 'x\udc00y', 'x\ufffdy'],
    ['high surrogate at the end', 'x\ud83d', 'x\ufffd'],
    ['two high surrogates then a pair', '\ud800\ud83d\ude00', '\ufffd😀'],
    ['reversed pair', '\ude00\ud83d', '\ufffd\ufffd'],
    ['a real pair is kept', 'hi 😀', 'hi 😀'],
  ])('%s', (_name, input, expected) => {
    expect(toWellFormed(input)).toBe(expected);
    expect(sanitizeText(input)).toBe(expected);
  });

  it('sanitised text always encodes to UTF-8 and back unchanged', () => {
    const out = sanitizeText(`a\ud800b\x1b[31m\udfffc`);
    expect(out).toBe('a\ufffdb\ufffdc');
    expect(Buffer.from(out, 'utf8').toString('utf8')).toBe(out);
  });
});

describe('escapeForLog', () => {
  it.each([
    ['an escape sequence is shown, not deleted', `al${ESC}[31mice`, 'al\\x1b[31mice'],
    ['NUL is shown', 'a\x00b', 'a\\x00b'],
    ['CR, LF and TAB are shown', 'ro\r\nn\t', 'ro\\x0d\\x0an\\x09'],
    ['DEL and C1 are shown', 'a\x7fb\x9bc', 'a\\x7fb\\x9bc'],
    ['bidi override is shown', 'ab\u202ecd', 'ab\\u202ecd'],
    ['line separators are shown', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['a lone surrogate is shown', 'a\ud800b', 'a\\ud800b'],
    ['a backslash is doubled, so a typed "\\x1b" differs from ESC', 'al\\x1bice', 'al\\\\x1bice'],
    ['plain names are unchanged', 'shon.k-1_2', 'shon.k-1_2'],
    ['Hebrew and emoji are unchanged', 'שלום 😀', 'שלום 😀'],
  ])('%s', (_name, input, expected) => {
    expect(escapeForLog(input)).toBe(expected);
  });

  it('keeps a string of exactly the cap', () => {
    expect(escapeForLog('a'.repeat(64))).toBe('a'.repeat(64));
  });

  it('caps longer strings with a visible mark', () => {
    expect(escapeForLog('a'.repeat(65))).toBe(`${'a'.repeat(64)}…`);
    expect(escapeForLog('abcdef', 3)).toBe('abc…');
  });

  it('counts the cap before escaping and never cuts a surrogate pair', () => {
    expect(escapeForLog(`${'\x00'.repeat(100)}abc`, 3)).toBe('\\x00\\x00\\x00…');
    expect(escapeForLog('ab😀c', 3)).toBe('ab…');
  });
});

describe('sanitizeShort', () => {
  it('removes controls, then caps with a visible mark', () => {
    expect(sanitizeShort(`c.${ESC}[2Jfoo`, 32)).toBe('c.foo');
    expect(sanitizeShort(`${'\x00'.repeat(10)}abcdef`, 3)).toBe('abc…');
  });
});
