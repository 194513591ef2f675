import { describe, expect, it } from 'vitest';
import { sameTarget, serverAddress } from './endpoint-target.js';

describe('serverAddress', () => {
  it('fills in the default port, lower-cases names and names every loopback address 127.0.0.1', () => {
    expect(serverAddress('LocalHost', 6379)).toBe('127.0.0.1:6379');
    expect(serverAddress('127.0.0.1:6379', 6379)).toBe('127.0.0.1:6379');
    expect(serverAddress('[::1]:6379', 6379)).toBe('127.0.0.1:6379');
    expect(serverAddress('Redis.Example.com:6380', 6379)).toBe('redis.example.com:6380');
  });

  it('keeps other ports, IPv6 addresses and names apart: telling aliases apart needs a connection', () => {
    expect(serverAddress('localhost:6380', 6379)).not.toBe(serverAddress('localhost', 6379));
    expect(serverAddress('[2001:db8::1]', 6379)).toBe('[2001:db8::1]:6379');
    expect(serverAddress('10.0.0.2', 6379)).not.toBe(serverAddress('redis.lan', 6379));
  });

  it('sorts a host list, so that the order of a replica set seed list does not matter', () => {
    expect(serverAddress(['b:27017', 'a'], 27017)).toBe('a:27017,b:27017');
    expect(serverAddress('a,b:27017', 27017)).toBe(serverAddress(['b', 'a:27017'], 27017));
  });
});

describe('sameTarget', () => {
  const at = (server: string, name: string) => ({ server, name });
  it('needs the same server and the same name, and both known', () => {
    expect(sameTarget(at('127.0.0.1:6379/0', 'stream "a"'), at('127.0.0.1:6379/0', 'stream "a"'))).toBe(true);
    expect(sameTarget(at('127.0.0.1:6379/0', 'stream "a"'), at('127.0.0.1:6379/1', 'stream "a"'))).toBe(false);
    expect(sameTarget(at('127.0.0.1:6379/0', 'stream "a"'), at('127.0.0.1:6379/0', 'stream "b"'))).toBe(false);
    expect(sameTarget(at('127.0.0.1:6379/0', 'stream "a"'), undefined)).toBe(false);
  });
});
