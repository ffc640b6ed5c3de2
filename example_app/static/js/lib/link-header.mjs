// A small reader for HTTP Link header values (RFC 8288), for display only:
// "<url>; rel=preload; as=style, <url2>; ..." becomes
// [{ target: 'url', params: [['rel', 'preload'], ['as', 'style']] }, ...].
// A parameter without a value (crossorigin, nopush) has the value null.

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseLinkHeader(value) {
  const links = [];
  let i = 0;

  const fail = (expected) => {
    throw new SyntaxError(`expected ${expected} at position ${i}`);
  };
  const skipSpaces = () => {
    while (value[i] === ' ' || value[i] === '\t') i += 1;
  };
  const token = () => {
    const start = i;
    while (i < value.length && TOKEN_CHAR.test(value[i])) i += 1;
    if (i === start) fail('a token');
    return value.slice(start, i);
  };
  const quotedString = () => {
    let text = '';
    i += 1; // the opening quote
    while (i < value.length && value[i] !== '"') {
      if (value[i] === '\\') i += 1;
      text += value[i];
      i += 1;
    }
    if (value[i] !== '"') fail('a closing quote');
    i += 1;
    return text;
  };

  while (i < value.length) {
    skipSpaces();
    if (value[i] === ',') { i += 1; continue; }
    if (i >= value.length) break;
    if (value[i] !== '<') fail('"<"');
    const end = value.indexOf('>', i);
    if (end < 0) fail('">"');
    const link = { target: value.slice(i + 1, end), params: [] };
    i = end + 1;
    skipSpaces();
    while (value[i] === ';') {
      i += 1;
      skipSpaces();
      const name = token().toLowerCase();
      skipSpaces();
      let paramValue = null;
      if (value[i] === '=') {
        i += 1;
        skipSpaces();
        paramValue = value[i] === '"' ? quotedString() : token();
      }
      link.params.push([name, paramValue]);
      skipSpaces();
    }
    if (i < value.length && value[i] !== ',') fail('"," or ";"');
    links.push(link);
  }
  return links;
}

export function param(link, name) {
  const found = link.params.find(([key]) => key === name);
  return found === undefined ? undefined : found[1];
}
