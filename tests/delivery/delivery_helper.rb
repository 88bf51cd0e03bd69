# delivery_helper.rb -- shared setup for the delivery tests: an RSA key made with the
# openssl CLI, local and remote accounts in the test's PostgreSQL (through psql), the
# loopback inbox (inbox.js) on several 127.0.0.x addresses, and scotty started with
# the database and a short read timeout.
require_relative '../integration/helper'
require_relative '../lib/pg'
require 'digest'
require 'open3'

class DeliveryTest < ScottyTest
  include Harness::PG
  HERE = __dir__
  LOCAL_DOMAIN = 'scotty.test'.freeze
  ADDRESSES = (1..9).map { |i| "127.0.0.#{i}" }

  def self.keys
    @keys ||= begin
      pem, st = Open3.capture2('openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048')
      raise 'openssl genpkey failed' unless st.success?
      pub, st = Open3.capture2('openssl', 'pkey', '-pubout', stdin_data: pem)
      raise 'openssl pkey -pubout failed' unless st.success?
      [pem, pub]
    end
  end

  def setup
    super
    @tmp = Dir.mktmpdir('scotty-delivery')
    @pem, @pub = self.class.keys
    psql('TRUNCATE accounts, follows, unavailable_domains CASCADE')
    psql("INSERT INTO accounts (id, username, domain, private_key, public_key, created_at, updated_at) " \
         "VALUES (1, 'alice', NULL, #{q(@pem)}, #{q(@pub)}, now(), now())")
    scheme = psql("SELECT to_jsonb(a)->>'id_scheme' FROM accounts a WHERE id = 1").strip
    @actor = scheme == '1' ? "https://#{LOCAL_DOMAIN}/ap/users/1" : "https://#{LOCAL_DOMAIN}/users/alice"
    @key_id = "#{@actor}#main-key"
    File.write(File.join(@tmp, 'keys.json'), JSON.generate(@key_id => @pub))
    start_inbox
  end

  def teardown
    if @inbox_pid
      Process.kill('TERM', @inbox_pid)
      Process.wait(@inbox_pid)
    end
    super
    FileUtils.rm_rf(@tmp)
  end

  def start_inbox(extra = [])
    port_file = File.join(@tmp, 'inbox.port')
    @inbox_log = File.join(@tmp, 'inbox.jsonl')
    @inbox_pid = Process.spawn('node', File.join(HERE, 'inbox.js'), '--port-file', port_file,
                               '--keys', File.join(@tmp, 'keys.json'), '--log', @inbox_log,
                               '--addresses', ADDRESSES.join(','), *extra,
                               err: File.join(@tmp, 'inbox.err'))
    wait_until(10, 'the inbox to listen') { File.exist?(port_file) }
    @port = File.read(port_file).to_i
  end

  def inbox_url(addr, path)
    "http://#{addr}:#{@port}#{path}"
  end

  def received
    return [] unless File.exist?(@inbox_log)
    File.readlines(@inbox_log).map { |l| JSON.parse(l) }
  end

  def db_env
    pg_env.merge('LOCAL_DOMAIN' => LOCAL_DOMAIN, 'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8',
                 'SCOTTY_HTTP_READ_TIMEOUT' => '1')
  end

  def start_delivery_scotty(env = {}, *extra, concurrency: 4)
    start_scotty('-c', concurrency.to_s, '-q', 'push', '-q', 'pull', *extra, env: db_env.merge(env))
  end

  def deliver(inbox, options = {}, klass: 'ActivityPub::DeliveryWorker', queue: 'push', account: 1,
              body: nil)
    body ||= JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'Create',
                           'id' => "#{@actor}/statuses/#{rand(1 << 40)}", 'actor' => @actor)
    Sidekiq::Client.push('class' => klass, 'queue' => queue, 'args' => [body, account, inbox, options])
  end

  # Waits until nothing is queued or running.
  def wait_idle(what = 'the deliveries to finish')
    wait_until(30, what) do
      %w[queue:push queue:pull].all? { |k| @redis.llen(k).zero? } &&
        Sidekiq::Workers.new.size.zero? &&
        @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
  end

  def today
    Time.now.utc.strftime('%Y%m%d')
  end
end
