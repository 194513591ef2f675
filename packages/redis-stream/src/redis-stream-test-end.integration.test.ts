import { testTestEnd } from '@ferry/testkit';
import { redisStreamConnector } from './redis-stream-connector.js';

// The end the end-to-end suites use (`@ferry/redis-stream/testing`), against the real server.
testTestEnd(redisStreamConnector);
