# database_check.rb -- scotty and a real PostgreSQL (started by
# tests/storage/run_db_test.sh, which sets DB_*): it starts against a schema made
# by `scotty db init`, keeps running while PostgreSQL restarts, and refuses to
# start, naming what is missing, when the schema lacks a column it writes.
require_relative 'helper'
require_relative '../lib/pg'
require 'open3'

class DatabaseCheckTest < ScottyTest
  include Harness::PG

  def test_start_up_schema_check_and_postgres_restart
    out, st = Open3.capture2e(Harness::SCOTTY, 'db', 'init')
    assert st.success?, out

    s = start_scotty('-c', '2')
    system(ENV.fetch('STORAGE_PG_RESTART_CMD'), exception: true)
    push_marks('after-restart', 20)
    wait_until(20, 'jobs to run while PostgreSQL restarted') { @redis.llen('after-restart') == 20 }
    assert s.alive?, s.log
    assert s.stop.success?

    psql('ALTER TABLE statuses DROP COLUMN uri')
    out, st = Open3.capture2e({ 'REDIS_URL' => @redis_server.url }, Harness::SCOTTY, '-c', '1')
    assert_equal 1, st.exitstatus, out
    assert_match(/statuses\.uri/, out)
    assert_match(/cannot start/, out)
  end
end
