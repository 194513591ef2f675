import { testTestEnd } from '@ferry/testkit';
import { clickHouseConnector } from './clickhouse-connector.js';
import { clickHouseUrl } from './test-admin.js';

// The end the end-to-end suites use (`@ferry/clickhouse/testing`), against this run's ClickHouse:
// the 18.16 server, or the embedded engine's directory of this test process.
process.env.CLICKHOUSE_URL = clickHouseUrl;
testTestEnd(clickHouseConnector);
