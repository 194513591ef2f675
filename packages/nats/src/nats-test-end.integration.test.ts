import { testTestEnd } from '@ferry/testkit';
import { natsConnector } from './nats-connector.js';

// The end the end-to-end suites use (`@ferry/nats/testing`), against the real server.
testTestEnd(natsConnector);
