/**
 * The stream, queue, collection or table an endpoint reads or writes, and the
 * server it is on, as far as the endpoint's options tell without connecting:
 * how the runner refuses a flow whose sink is its own source.
 */
export interface EndpointTarget {
  /** The server, normalized by `serverAddress`, with the database, vhost or db number after a `/`. */
  readonly server: string;
  /** What the endpoint names there, for comparison and messages: `stream "in"`, `collection "app.users"`. */
  readonly name: string;
}

/** Names every loopback address the same way: they are one server from here. */
const loopback = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '0:0:0:0:0:0:0:1']);

/**
 * `host[:port]` items (a URL's host part, or a comma-separated list) as one
 * comparable text: host names in lower case, every loopback name as
 * 127.0.0.1, the default port filled in, hosts sorted. Two addresses that
 * reach one server by different names (a DNS alias, a LAN address) still
 * differ: telling those apart needs a connection.
 */
export function serverAddress(hosts: string | readonly string[], defaultPort: number): string {
  const list = typeof hosts === 'string' ? hosts.split(',') : hosts;
  return list
    .map((item) => {
      const text = item.trim().toLowerCase();
      // `[v6]:port` or `name:port`; anything else (a bare IPv6 address) is a host without a port.
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text);
      const host = match?.[1] ?? text;
      const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
      return `${loopback.has(host) ? '127.0.0.1' : host}:${port}`;
    })
    .sort()
    .join(',');
}

/** True when two endpoints name the same stream, queue, collection or table on the same server. */
export function sameTarget(a: EndpointTarget | undefined, b: EndpointTarget | undefined): boolean {
  return a !== undefined && b !== undefined && a.server === b.server && a.name === b.name;
}
