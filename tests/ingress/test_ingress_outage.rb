# test_ingress_outage.rb -- a Create whose job finishes while Redis is down: its
# follow-up jobs (DistributionWorker, LinkCrawlWorker) wait with its ack and are
# written with it when Redis is back, exactly once; none is lost ("could not push").
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

  def test_followups_of_a_create_finished_during_a_redis_outage_are_written_with_its_ack
    scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    url = "http://127.0.0.1:#{@origin_port}/_delay/4000/media/photo.jpg"
    body = fixture_with('create_note_mastodon') do |d|
      d['object']['attachment'] = [{ 'type' => 'Document', 'mediaType' => 'image/jpeg', 'url' => url }]
      d['object'].delete('inReplyTo')
      d['object'].delete('inReplyToAtomUri')
    end
    deliver(body)
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
    id = status_row[0].to_i
    assert_equal [[id, { 'silenced_account_ids' => [] }]], queued('default', 'DistributionWorker').map { |j| j['args'] }
    assert_equal [id], scheduled('LinkCrawlWorker').map { |j| j['args'][0] }
    refute_match(/could not push/, scotty.log)
    assert_equal 0, @redis.llen('queue:ingress')
    assert_equal 0, @redis.zcard('retry')
  end
end
