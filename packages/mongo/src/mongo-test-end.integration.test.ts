import { testTestEnd } from '@ferry/testkit';
import { mongoConnector } from './mongo-connector.js';

// The end the end-to-end suites use (`@ferry/mongo/testing`), against the real server.
testTestEnd(mongoConnector);
