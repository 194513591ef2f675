import { deserialize, serialize } from 'bson';
import { knownSizes } from './mongo-command-args.js';
import type { Document } from './mongo-query.js';

/** Opcodes of the MongoDB wire protocol this server reads and writes. */
export const opcodes = { reply: 1, query: 2004, compressed: 2012, msg: 2013 } as const;

const checksumPresent = 1;
export const moreToCome = 1 << 1;

export interface Header {
  readonly length: number;
  readonly requestId: number;
  readonly responseTo: number;
  readonly opCode: number;
}

/** A command as it came in: OP_MSG (body + document sequences) or a legacy OP_QUERY on `<db>.$cmd`. */
export interface Request {
  readonly header: Header;
  readonly flags: number;
  readonly body: Document;
  readonly db: string;
  readonly sequences: Map<string, Document[]>;
}

export function readHeader(buffer: Buffer): Header {
  return {
    length: buffer.readInt32LE(0),
    requestId: buffer.readInt32LE(4),
    responseTo: buffer.readInt32LE(8),
    opCode: buffer.readInt32LE(12),
  };
}

function cstring(buffer: Buffer, at: number): [text: string, next: number] {
  const end = buffer.indexOf(0, at);
  if (end < 0) throw new Error('unterminated cstring');
  return [buffer.toString('utf8', at, end), end + 1];
}

/**
 * Values stay the BSON types they came as (Int32, Long, Double, Decimal128,
 * regular expressions with all their flags), so that what is stored and sent
 * back is what the client wrote.
 */
const asSent = { promoteValues: false, promoteLongs: false, bsonRegExp: true } as const;

function document(buffer: Buffer, at: number): [doc: Document, next: number] {
  const size = buffer.readInt32LE(at);
  if (size < 5 || at + size > buffer.length) throw new Error(`invalid BSON document length ${size}`);
  const doc = deserialize(buffer.subarray(at, at + size), asSent) as Document;
  return [doc, at + size];
}

/** Parses one whole message (header included). */
export function parseRequest(message: Buffer): Request {
  const header = readHeader(message);
  if (header.opCode === opcodes.msg) {
    const flags = message.readUInt32LE(16);
    const end = message.length - (flags & checksumPresent ? 4 : 0);
    let at = 20;
    let body: Document | undefined;
    const sequences = new Map<string, Document[]>();
    while (at < end) {
      const kind = message[at++];
      if (kind === 0) {
        [body, at] = document(message, at);
      } else if (kind === 1) {
        const size = message.readInt32LE(at);
        const stop = at + size;
        let id: string;
        [id, at] = cstring(message, at + 4);
        const docs: Document[] = [];
        while (at < stop) {
          const start = at;
          let doc: Document;
          [doc, at] = document(message, at);
          knownSizes.set(doc, at - start);
          docs.push(doc);
        }
        sequences.set(id, docs);
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`);
      }
    }
    if (body === undefined) throw new Error('OP_MSG without a body section');
    const db = typeof body.$db === 'string' ? body.$db : 'admin';
    return { header, flags, body, db, sequences };
  }
  if (header.opCode === opcodes.query) {
    const flags = message.readInt32LE(16);
    const [fullName, at] = cstring(message, 20);
    // numberToSkip and numberToReturn: a command ignores them.
    let [query] = document(message, at + 8);
    if (query.$query !== undefined && typeof query.$query === 'object') query = query.$query as Document;
    if (!fullName.endsWith('.$cmd')) throw new Error(`legacy OP_QUERY on ${fullName} is not supported (commands only)`);
    return { header, flags, body: query, db: fullName.slice(0, -'.$cmd'.length), sequences: new Map() };
  }
  throw new Error(`opcode ${header.opCode} is not supported`);
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const out = Buffer.allocUnsafe(16);
  out.writeInt32LE(length, 0);
  out.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(opCode, 12);
  return out;
}

/** The reply to a request, in the protocol the request used. */
export function encodeReply(request: Request, reply: Document): Buffer[] {
  const bytes = serialize(reply);
  const bson = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (request.header.opCode === opcodes.query) {
    const fields = Buffer.alloc(20);
    // responseFlags 0, cursorID 0, startingFrom 0, numberReturned 1.
    fields.writeInt32LE(1, 16);
    return [header(16 + 20 + bson.length, request.header.requestId, opcodes.reply), fields, bson];
  }
  const fields = Buffer.alloc(5);
  return [header(16 + 5 + bson.length, request.header.requestId, opcodes.msg), fields, bson];
}
