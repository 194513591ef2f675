import { testTestEnd } from '@ferry/testkit';
import { clickHouseConnector } from './clickhouse-connector.js';

// The end the end-to-end suites use (`@ferry/clickhouse/testing`), against the real server.
testTestEnd(clickHouseConnector);
