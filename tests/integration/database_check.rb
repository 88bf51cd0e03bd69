# database_check.rb -- scotty and a real PostgreSQL (started by
# tests/storage/run_db_test.sh, which sets DB_*): it starts against a schema made
# by `scotty db init`, keeps writing to it across a PostgreSQL restart (a Create
# stored before and one after, on the connection the restart closed), and refuses
# to start, naming what is missing, when the schema lacks a column it writes.
require_relative '../ingress/ingress_helper'
require 'open3'

class DatabaseCheckTest < IngressTest
  def setup
    out, st = Open3.capture2e(Harness::SCOTTY, 'db', 'init')
    raise "scotty db init failed:\n#{out}" unless st.success?

    super
  end

  # The Mastodon-shaped Create of bob's status number n.
  def create(n)
    uri = "#{BOB_URI}/statuses/11350000000000000#{n}"
    fixture_with('create_note_mastodon') do |d|
      d['id'] = "#{uri}/activity"
      d['object'].merge!('id' => uri, 'url' => uri, 'atomUri' => uri, 'content' => "<p>post #{n}</p>")
      d['object'].delete('attachment')
    end
  end

  def stored_text(n)
    psql("SELECT text FROM statuses WHERE uri = #{q("#{BOB_URI}/statuses/11350000000000000#{n}")}").strip
  end

  def test_start_up_schema_check_and_postgres_restart
    s = start_ingress_scotty
    deliver_and_wait(create(1))
    assert_equal '<p>post 1</p>', stored_text(1), s.log
    system(ENV.fetch('STORAGE_PG_RESTART_CMD'), exception: true)
    deliver_and_wait(create(2))
    assert_equal '<p>post 2</p>', stored_text(2), "a Create stored after PostgreSQL restarted\n#{s.log}"
    assert_empty retries, 'nothing failed into a retry'
    assert s.alive?, s.log
    assert s.stop.success?

    psql('ALTER TABLE statuses DROP COLUMN uri')
    out, st = Open3.capture2e({ 'REDIS_URL' => @redis_server.url }, Harness::SCOTTY, '-c', '1')
    assert_equal 1, st.exitstatus, out
    assert_match(/statuses\.uri/, out)
    assert_match(/cannot start/, out)
  end
end
