# ingress_helper.rb -- shared setup for the ingress tests: Mastodon's tables in the
# test's PostgreSQL (through psql), a local account alice and a remote account bob on
# remote.example that alice follows, the payload fixtures in fixtures/, and
# ActivityPub::ProcessingWorker jobs pushed the way Mastodon's inbox controller does.
require_relative '../integration/helper'
require_relative '../lib/pg'
require 'open3'
require 'socket'

class IngressTest < ScottyTest
  include Harness::PG
  HERE = __dir__
  LOCAL_DOMAIN = 'scotty.test'.freeze
  ALICE = 1
  BOB = 2
  BOB_URI = 'https://remote.example/users/bob'.freeze
  NOTE_URI = 'https://remote.example/users/bob/statuses/113500000000000001'.freeze
  ALICE_STATUS_URI = 'https://scotty.test/users/alice/statuses/113400000000000000'.freeze
  TABLES = %w[accounts account_stats statuses status_stats status_edits media_attachments mentions tags
              statuses_tags conversations tombstones follows favourites].freeze

  # Rows of a query as arrays of strings.
  def rows(sql)
    psql(sql).lines.map { |l| l.chomp.split('|', -1) }
  end

  def count(table, where = 'true')
    psql("SELECT count(*) FROM #{table} WHERE #{where}").to_i
  end

  # Multibase 'z' (base58btc, Bitcoin's alphabet) of a binary string: FEP-521a keys and
  # FEP-8b32 proof values.
  def multibase58(bytes)
    alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
    n = bytes.unpack1('H*').to_i(16)
    out = +''
    while n.positive?
      n, r = n.divmod(58)
      out.prepend(alphabet[r])
    end
    "z#{'1' * bytes[/\A\0*/].size}#{out}"
  end

  def setup
    super
    psql("TRUNCATE #{TABLES.join(', ')} CASCADE")
    psql("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) " \
         "VALUES (#{ALICE}, 'alice', NULL, NULL, now(), now())")
    add_remote(BOB, 'bob', followed_by: ALICE)
  end

  def add_remote(id, name, host: 'remote.example', followed_by: nil)
    uri = "https://#{host}/users/#{name}"
    psql("INSERT INTO accounts (id, username, domain, uri, url, inbox_url, shared_inbox_url, followers_url, " \
         "protocol, created_at, updated_at) VALUES (#{id}, #{q(name)}, #{q(host)}, #{q(uri)}, " \
         "#{q("https://#{host}/@#{name}")}, #{q("#{uri}/inbox")}, #{q("https://#{host}/inbox")}, " \
         "#{q("#{uri}/followers")}, 1, now(), now())")
    return unless followed_by
    psql("INSERT INTO follows (account_id, target_account_id, created_at, updated_at) " \
         "VALUES (#{followed_by}, #{id}, now(), now())")
  end

  # alice's status that the fixture note replies to.
  def add_alice_status(id = 113_400_000_000_000_000)
    psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at, local, visibility) " \
         "VALUES (#{id}, #{q(ALICE_STATUS_URI)}, #{ALICE}, 'hello', now(), now(), true, 0)")
    id
  end

  def fixture(name)
    File.read(File.join(HERE, 'fixtures', "#{name}.json"))
  end

  # A fixture with its JSON changed by the block (it gets the parsed document).
  def fixture_with(name)
    doc = JSON.parse(fixture(name))
    yield doc
    JSON.generate(doc)
  end

  def db_env
    pg_env.merge('LOCAL_DOMAIN' => LOCAL_DOMAIN, 'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8',
                 'PAPERCLIP_ROOT_PATH' => File.join(@tmp ||= Dir.mktmpdir('scotty-ingress'), 'system'))
  end

  # scotty on the ingress queue; attachments deferred to `pull` so no test depends on
  # reaching remote.example. Its control socket is @control.
  def start_ingress_scotty(*extra, env: {})
    @control = File.join(@tmp ||= Dir.mktmpdir('scotty-ingress'), "ctl-#{rand(1 << 30)}.sock")
    start_scotty('-c', '2', '-q', 'ingress', '--media-defer', 'pull', '--control', @control, *extra,
                 env: db_env.merge(env))
  end

  # One control-socket command, its parsed reply.
  def control(cmd)
    UNIXSocket.open(@control) do |s|
      s.write("#{JSON.generate('cmd' => cmd)}\n")
      JSON.parse(s.gets || raise(Minitest::Assertion, "no reply to #{cmd}"))
    end
  end

  # {"Create" => {"handled" => 1, ...}, ...} from the stats command.
  def activity_stats
    control('stats').fetch('activities').to_h { |r| [r['type'], r.reject { |k, _| k == 'type' }] }
  end

  # What ActivityPub::InboxesController does: perform_async(actor.id, body,
  # @account&.id, actor.class.name) with the worker's sidekiq_options.
  def deliver(body, actor: BOB, delivered_to: nil, actor_type: 'Account')
    Sidekiq::Client.push('class' => 'ActivityPub::ProcessingWorker', 'queue' => 'ingress', 'retry' => 8,
                         'backtrace' => true, 'args' => [actor, body, delivered_to, actor_type])
  end

  # Waits until no ingress job is queued or running.
  def wait_idle(what = 'the ingress jobs to finish')
    wait_until(60, what) do
      @redis.llen('queue:ingress').zero? && Sidekiq::Workers.new.size.zero? &&
        @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
  end

  def deliver_and_wait(body, **kw)
    jid = deliver(body, **kw)
    wait_idle
    jid
  end

  # Jobs of a class in a queue list or the schedule set, parsed.
  def queued(queue, klass = nil)
    @redis.lrange("queue:#{queue}", 0, -1).map { |j| JSON.parse(j) }
          .select { |j| klass.nil? || j['class'] == klass }
  end

  def scheduled(klass)
    @redis.zrange('schedule', 0, -1).map { |j| JSON.parse(j) }.select { |j| j['class'] == klass }
  end

  # The jobs in the retry set, without their times.
  def retries
    super.map(&:first)
  end

  # The statuses row of uri as strings (booleans 't'/'f', NULL ids '0'), or nil.
  def status_row(uri = NOTE_URI)
    out = psql("SELECT json_build_array(id::text, account_id::text, text, spoiler_text, visibility::text, " \
               "CASE WHEN sensitive THEN 't' ELSE 'f' END, language, CASE WHEN reply THEN 't' ELSE 'f' END, " \
               "coalesce(in_reply_to_id, 0)::text, coalesce(in_reply_to_account_id, 0)::text, " \
               "coalesce(conversation_id, 0)::text, url, CASE WHEN local THEN 't' ELSE 'f' END, " \
               "coalesce(array_to_string(ordered_media_attachment_ids, ','), ''), " \
               "to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS'), coalesce(edited_at::text, '')) " \
               "FROM statuses WHERE uri = #{q(uri)}").strip
    out.empty? ? nil : JSON.parse(out)
  end

  # The fixture origin (origin.rb) serving @origin_root/<host>/<path>, logging its
  # requests (origin_paths); returns its port.
  def start_origin
    @origin_root = File.join(@tmp ||= Dir.mktmpdir('scotty-ingress'), 'origin')
    FileUtils.mkdir_p(@origin_root)
    @origin_log = File.join(@tmp, 'origin.jsonl')
    @origin_out, @origin_in = IO.pipe
    stdin_r, @origin_stdin = IO.pipe
    @origin_pid = Process.spawn('ruby', File.join(HERE, 'origin.rb'), '--root', @origin_root, '--log', @origin_log,
                                in: stdin_r, out: @origin_in, err: File.join(@tmp, 'origin.err'))
    stdin_r.close
    @origin_in.close
    line = Timeout.timeout(20) { @origin_out.gets }
    raise "origin.rb did not start: #{File.read(File.join(@tmp, 'origin.err'))}" unless line&.start_with?('READY ')
    @origin_port = line.split.last.to_i
  end

  # A 320x240 JPEG (ffmpeg CLI) served by the origin as media/<name> for each name.
  def serve_origin_jpegs(*names)
    dir = File.join(@origin_root, '127.0.0.1', 'media')
    FileUtils.mkdir_p(dir)
    _out, err, st = Open3.capture3('ffmpeg', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
                                   'testsrc=size=320x240:rate=1', '-frames:v', '1', File.join(dir, names.first))
    raise "ffmpeg: #{err}" unless st.success?

    names.drop(1).each { |n| FileUtils.cp(File.join(dir, names.first), File.join(dir, n)) }
  end

  # The paths the fixture origin was asked for, in order.
  def origin_paths
    File.exist?(@origin_log) ? File.readlines(@origin_log).map { |l| JSON.parse(l)['path'] } : []
  end

  # Mastodon's split Redis set-up: a second redis-server as the application's Redis
  # (@app_server, client @app). Returns the environment naming both for scotty.
  def start_app_redis
    @app_server = Harness::RedisServer.new
    @app = @app_server.client
    { 'SIDEKIQ_REDIS_URL' => @redis_server.url, 'REDIS_URL' => @app_server.url }
  end

  def teardown
    if @origin_pid
      @origin_stdin.close
      Process.kill('TERM', @origin_pid)
      Process.wait(@origin_pid)
    end
    super
    @app&.close
    @app_server&.destroy
    FileUtils.rm_rf(@tmp) if @tmp
  end
end
