# test_ingress_outage.rb -- a Create's follow-up jobs (DistributionWorker,
# LinkCrawlWorker) are written exactly once with its outcome: when the job finishes
# while Redis is down they wait with its ack; when the process is killed after the
# commit, the recovered job writes them.
require_relative 'ingress_helper'
require_relative 'media_fixtures'

class IngressOutageTest < IngressTest
  def setup
    super
    # Redis with an append-only file, so a restart keeps the private list.
    @redis.close
    @redis_server.destroy
    @redis_server = Harness::RedisServer.new('--appendonly', 'yes', '--appendfsync', 'always')
    @redis = @redis_server.client
    Sidekiq.configure_client { |c| c.redis = { url: @redis_server.url } }
    start_origin
    dir = File.join(@origin_root, '127.0.0.1', 'media')
    FileUtils.mkdir_p(dir)
    MediaFixtures.ffmpeg(*MediaFixtures::LAVFI, 'testsrc=size=320x240:rate=1', '-frames:v', '1',
                         File.join(dir, 'photo.jpg'))
  end

  def note_with_slow_photo(ms)
    url = "http://127.0.0.1:#{@origin_port}/_delay/#{ms}/media/photo.jpg"
    fixture_with('create_note_mastodon') do |d|
      d['object']['attachment'] = [{ 'type' => 'Document', 'mediaType' => 'image/jpeg', 'url' => url }]
      d['object'].delete('inReplyTo')
      d['object'].delete('inReplyToAtomUri')
    end
  end

  def assert_followups_once(id)
    assert_equal [[id, { 'silenced_account_ids' => [] }]], queued('default', 'DistributionWorker').map { |j| j['args'] }
    assert_equal [id], scheduled('LinkCrawlWorker').map { |j| j['args'][0] }
  end

  def test_followups_of_a_create_finished_during_a_redis_outage_are_written_with_its_ack
    scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    deliver(note_with_slow_photo(4000))
    wait_until(20, "the status row (the attachment still downloading)\n#{scotty.log}") { status_row }
    @redis_server.stop
    wait_until(30, "the job to finish while Redis is down\n#{scotty.log}") do
      scotty.log.include?('class=ActivityPub::ProcessingWorker') && scotty.log.include?(' done')
    end
    sleep 1 # the acker tries, and keeps the outcome
    @redis_server.start
    @redis = @redis_server.client
    wait_until(30, "the outcome written after the restart\n#{scotty.log}") do
      @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
    assert_followups_once(status_row[0].to_i)
    refute_match(/could not push/, scotty.log)
    assert_equal 0, @redis.llen('queue:ingress')
    assert_equal 0, @redis.zcard('retry')
  end

  # Killed after the status was committed but before the job's outcome (and so its
  # follow-ups) was written: the recovered job finds the status stored by its own
  # earlier run and writes the follow-ups then, once.
  def test_a_create_killed_after_its_commit_gets_its_followups_on_recovery
    first = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    deliver(note_with_slow_photo(15_000))
    wait_until(20, "the status row (the attachment still downloading)\n#{first.log}") { status_row }
    id = @redis.smembers('processes').find { |i| i.include?(":#{first.pid}:") }
    first.kill9
    @redis.del(id) # its heartbeat expires at once
    assert_empty queued('default', 'DistributionWorker')
    second = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    wait_until(90, "the recovered job to finish\n#{second.log}") do
      second.log.include?('class=ActivityPub::ProcessingWorker') && second.log.include?(' done')
    end
    assert_match(/stored by an earlier run of this job that ended before its follow-up jobs were written/, second.log)
    assert_followups_once(status_row[0].to_i)
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_equal 0, @redis.keys('scotty:created:*').size
  end
end
