import { testTestEnd } from '@ferry/testkit';
import { rabbitMqConnector } from './rabbitmq-connector.js';

// The end the end-to-end suites use (`@ferry/rabbitmq/testing`), against the real server.
testTestEnd(rabbitMqConnector);
