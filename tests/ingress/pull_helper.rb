# pull_helper.rb -- what the boost/like and pull-worker tests add to ingress_helper.rb:
# the fixture origin (origin.rb) playing two remote servers, 127.0.0.2 and 127.0.0.3,
# on one port; remote accounts and notes on it; statuses inserted directly; the
# instance actor's key (account -99) for authorized fetch; scotty on any queue.
require_relative 'ingress_helper'
require 'openssl'

class PullTest < IngressTest
  HOST = '127.0.0.2'.freeze
  OTHER = '127.0.0.3'.freeze
  PUBLIC = 'https://www.w3.org/ns/activitystreams#Public'.freeze

  def teardown
    @fixture_in&.close
    if @fixture_pid
      begin
        Timeout.timeout(10) { Process.wait(@fixture_pid) }
      rescue Timeout::Error # a request still hanging on /_hang
        Process.kill('KILL', @fixture_pid)
        Process.wait(@fixture_pid)
      end
    end
    super
    FileUtils.rm_rf(@fixture_dir) if @fixture_dir
  end

  # Starts origin.rb on HOST and OTHER; keys: {keyId => public PEM} for --require-signature.
  def start_fixture_origin(keys: nil)
    @fixture_dir = Dir.mktmpdir('scotty-pull-origin')
    @fixture_root = File.join(@fixture_dir, 'root')
    @fixture_log = File.join(@fixture_dir, 'requests.jsonl')
    FileUtils.mkdir_p(@fixture_root)
    args = ['--root', @fixture_root, '--bind', HOST, '--bind', OTHER, '--log', @fixture_log]
    if keys
      File.write(File.join(@fixture_dir, 'keys.json'), JSON.generate(keys))
      args += ['--keys', File.join(@fixture_dir, 'keys.json'), '--require-signature']
    end
    in_r, @fixture_in = IO.pipe
    out_r, out_w = IO.pipe
    @fixture_pid = Process.spawn('ruby', File.join(HERE, 'origin.rb'), *args, in: in_r, out: out_w,
                                err: File.join(@fixture_dir, 'origin.err'))
    in_r.close
    out_w.close
    line = Timeout.timeout(20) { out_r.gets }
    raise "origin.rb did not start: #{line.inspect}" unless line&.start_with?('READY ')

    @fixture_port = line.split[1].to_i
  end

  def origin_url(host, path)
    "http://#{host}:#{@fixture_port}/#{path}"
  end

  # Serves doc (a Hash) as application/activity+json at origin_url(host, path).
  def serve(host, path, doc)
    file = File.join(@fixture_root, host, "#{path}.json")
    FileUtils.mkdir_p(File.dirname(file))
    File.write(file, JSON.generate(doc))
    origin_url(host, path)
  end

  def origin_requests
    File.exist?(@fixture_log) ? File.readlines(@fixture_log).map { |l| JSON.parse(l) } : []
  end

  # A remote account whose actor lives on the origin; returns its URI.
  def add_origin_account(id, name, host: HOST, followed_by: nil)
    uri = origin_url(host, "users/#{name}")
    psql("INSERT INTO accounts (id, username, domain, uri, url, inbox_url, followers_url, protocol, " \
         "created_at, updated_at) VALUES (#{id}, #{q(name)}, #{q(host)}, #{q(uri)}, " \
         "#{q(origin_url(host, "@#{name}"))}, #{q("#{uri}/inbox")}, #{q("#{uri}/followers")}, 1, now(), now())")
    if followed_by
      psql("INSERT INTO follows (account_id, target_account_id, created_at, updated_at) " \
           "VALUES (#{followed_by}, #{id}, now(), now())")
    end
    uri
  end

  # A public Note by name served on host (attributed_to overrides the author); returns its URI.
  def serve_note(host, name, n, text:, attributed_to: nil, in_reply_to: nil, id: nil)
    author = attributed_to || origin_url(host, "users/#{name}")
    path = "users/#{name}/statuses/#{n}"
    serve(host, path,
          '@context' => ['https://www.w3.org/ns/activitystreams'], 'id' => id || origin_url(host, path),
          'type' => 'Note', 'attributedTo' => author, 'content' => "<p>#{text}</p>",
          'published' => '2020-01-01T10:00:00Z', 'inReplyTo' => in_reply_to,
          'to' => [PUBLIC], 'cc' => ["#{author}/followers"], 'url' => origin_url(host, "@#{name}/#{n}"))
  end

  # A status row inserted directly (the shape ingress writes); returns id.
  def add_status(id, uri:, account:, created_at: 'now()', conversation: nil, in_reply_to: nil,
                 visibility: 0, local: false)
    psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at, local, visibility, reply, " \
         "conversation_id, in_reply_to_id) VALUES (#{id}, #{q(uri)}, #{account}, 'text', #{created_at}, now(), " \
         "#{local}, #{visibility}, #{!in_reply_to.nil?}, #{conversation || 'NULL'}, #{in_reply_to || 'NULL'})")
    id
  end

  # The instance actor (account -99) with an RSA key in accounts.private_key, as Mastodon
  # creates it; returns {keyId => public PEM} for the origin's --keys.
  def add_instance_actor
    key = OpenSSL::PKey::RSA.new(2048)
    psql("INSERT INTO accounts (id, username, domain, uri, private_key, public_key, actor_type, created_at, " \
         "updated_at) VALUES (-99, 'mastodon.internal', NULL, NULL, #{q(key.to_pem)}, #{q(key.public_key.to_pem)}, " \
         "'Application', now(), now())")
    { "https://#{LOCAL_DOMAIN}/actor#main-key" => key.public_key.to_pem }
  end

  def start_queue_scotty(queue, *extra, env: {})
    start_scotty('-c', '2', '-q', queue, *extra, env: db_env.merge(env))
  end

  # Waits until queue is empty and nothing runs.
  def wait_queue_idle(queue, what = "the #{queue} jobs to finish")
    wait_until(60, "#{what}\n#{@scottys.last&.log}") do
      @redis.llen("queue:#{queue}").zero? && Sidekiq::Workers.new.size.zero? &&
        @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
  end

  def status_id(uri)
    psql("SELECT id FROM statuses WHERE uri = #{q(uri)}").strip.then { |s| s.empty? ? nil : s.to_i }
  end

  def stat(status, column)
    psql("SELECT coalesce((SELECT #{column} FROM status_stats WHERE status_id = #{status}), 0)").to_i
  end
end
