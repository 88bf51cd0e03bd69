# frozen_string_literal: true

# accounts_bench.rb -- the measuring half of tests/bench/accounts.sh (which provides
# PostgreSQL with Mastodon's schema in DB_* and PG_PSQL).
# Args: scotty binary (this tree), scotty binary (before native accounts, or ""),
#       accounts, concurrency, rounds, stream size.
#
# 1. Accounts resolved per second: ACCOUNTS ResolveAccountWorker jobs for actors in the
#    six fixture shapes on a loopback origin, each with a WebFinger answer, three
#    collections, an avatar and a header; scotty on `pull` runs them and the
#    RedownloadAvatarWorker/RedownloadHeaderWorker jobs they push. Timed until every
#    account has both images stored. ROUNDS runs, median printed.
# 2. The fixture ingress stream (Creates, boosts of statuses by unknown authors, replies
#    to unknown authors, mentions of unknown accounts, account Updates) through each
#    binary with --forward-unhandled/--forward-unknown ruby: the share of jobs each hands
#    to Ruby, before and after.
require_relative 'bench_env'
require_relative '../lib/fediverse'
require_relative '../ingress/actor_shapes'

after_bin, before_bin = ARGV[0], ARGV[1].to_s
n_accounts, concurrency, rounds, n_stream = ARGV[2..5].map { |a| Integer(a) }
HOSTS = %w[127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7].freeze
PUBLIC = 'https://www.w3.org/ns/activitystreams#Public'

env = BenchEnv.new('accounts', HOSTS)
tmp, root, redis_server, redis, port = env.tmp, env.root, env.redis_server, env.redis, env.port

ENV_BASE = { 'REDIS_URL' => redis_server.url, 'PAPERCLIP_ROOT_PATH' => File.join(tmp, 'system'),
             'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8', 'LOCAL_DOMAIN' => 'scotty.test',
             'SCOTTY_WEBFINGER_URL' => "http://{domain}:#{port}/.well-known/webfinger?resource={resource}" }.freeze

# One small avatar and header per host, shared by its actors.
HOSTS.each do |h|
  FileUtils.mkdir_p(File.join(root, h, 'img'))
  %w[a.png h.png].each do |f|
    system('ffmpeg', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=320x200', '-frames:v', '1',
           File.join(root, h, 'img', f), exception: true)
  end
end

def median(a) = a.sort[a.size / 2]

def run_scotty(bin, label, tmp, concurrency, queues, extra = [])
  pid = Process.spawn(ENV_BASE, bin, '-c', concurrency.to_s, *queues.flat_map { |q| ['-q', q] },
                      '--forward-unhandled', 'ruby', '--forward-unknown', 'ruby', *extra,
                      err: File.join(tmp, "#{label}.log"))
  $scotty_pids << pid
  pid
end

$scotty_pids = env.pids

def stop(pid)
  Process.kill('TERM', pid)
  Process.wait(pid)
  $scotty_pids.delete(pid)
end

def wait_for(what, seconds, log)
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
  until yield
    if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      warn File.readlines(log).last(40).join
      abort "#{what} did not happen in #{seconds} s"
    end
    sleep 0.05
  end
end

# ---- 1. accounts per second ----
rates = []
profile_rates = []
rounds.times do |r|
  Fediverse.psql('TRUNCATE accounts CASCADE')
  handles = (0...n_accounts).map do |i|
    kind = ActorShapes::KINDS[i % ActorShapes::KINDS.size]
    host = HOSTS[i % HOSTS.size]
    name = "r#{r}u#{i}"
    ActorShapes.publish(root, kind, host, port, name) do |d|
      d['icon'] = { 'type' => 'Image', 'url' => "http://#{host}:#{port}/img/a.png?#{name}" }
      d['image'] = { 'type' => 'Image', 'url' => "http://#{host}:#{port}/img/h.png?#{name}" }
    end
    "#{name}@#{host}"
  end
  handles.each_slice(1000) do |batch|
    Sidekiq::Client.push_bulk('class' => 'ResolveAccountWorker', 'queue' => 'pull', 'args' => batch.map { |h| [h] })
  end
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  pid = run_scotty(after_bin, "resolve-#{r}", tmp, concurrency, %w[pull], ['--media-slots', '2'])
  log = File.join(tmp, "resolve-#{r}.log")
  wait_for("#{n_accounts} accounts", 600, log) { Fediverse.psql('SELECT count(*) FROM accounts').to_i >= n_accounts }
  t_profiles = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  wait_for("#{n_accounts} accounts with avatar and header", 900, log) do
    Fediverse.psql('SELECT count(*) FROM accounts WHERE avatar_file_name IS NOT NULL AND ' \
                   'header_file_name IS NOT NULL').to_i >= n_accounts
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  stop(pid)
  profile_rates << n_accounts / t_profiles
  rates << n_accounts / elapsed
  printf("round %d: %d accounts: profiles (actor, WebFinger, 3 collections, keys) in %.2f s, %.1f/s; " \
         "with avatar and header stored in %.2f s, %.1f/s\n", r + 1, n_accounts, t_profiles, profile_rates.last,
         elapsed, rates.last)
end
printf("accounts resolved per second (median of %d, -c %d, 2 media slots): profiles %.1f, with images %.1f\n",
       rounds, concurrency, median(profile_rates), median(rates))

# ---- 2. the ingress stream: forwarded before and after ----
def build_stream(root, port, n, tag)
  social = Fediverse::Server.new(root, HOSTS[0], port)
  Fediverse.psql('TRUNCATE accounts CASCADE')
  Fediverse.add_local_account(1, 'alice')
  bob = social.add_account(100, 'bob', followed_by: 1)
  bob_uri = social.actor_uri('bob')
  acts = (0...n).map do |i|
    host = HOSTS[1 + (i % (HOSTS.size - 1))]
    case i % 10
    when 0..3 # a post by a followed, known account
      social.create_note('bob', "#{tag}#{i}", text: "post #{i}")
    when 4, 5, 6 # a boost of a status by an account this server does not know
      author = ActorShapes.publish(root, :mastodon, host, port, "#{tag}a#{i}")
      note = "#{author['id']}/statuses/1"
      ActorShapes.write(root, host, "users/#{tag}a#{i}/statuses/1.json",
                        '@context' => ActorShapes::AS, 'id' => note, 'type' => 'Note', 'attributedTo' => author['id'],
                        'content' => '<p>boosted</p>', 'published' => '2026-01-01T10:00:00Z', 'to' => [PUBLIC])
      { '@context' => ActorShapes::AS, 'id' => "#{bob_uri}/statuses/#{tag}b#{i}/activity", 'type' => 'Announce',
        'actor' => bob_uri, 'published' => '2026-01-01T11:00:00Z', 'to' => [PUBLIC], 'object' => note }
    when 7 # a post mentioning an account this server does not know
      m = ActorShapes.publish(root, :misskey, host, port, "#{tag}m#{i}")
      act = social.create_note('bob', "#{tag}#{i}", text: "hi @#{tag}m#{i}")
      act['object']['tag'] = [{ 'type' => 'Mention', 'href' => m['id'], 'name' => "@#{tag}m#{i}@#{host}" }]
      act
    when 8 # a reply to a status by an unknown account (its thread is resolved on pull)
      author = ActorShapes.publish(root, :pleroma, host, port, "#{tag}r#{i}")
      parent = "#{author['id']}/statuses/1"
      ActorShapes.write(root, host, "users/#{tag}r#{i}/statuses/1.json",
                        '@context' => ActorShapes::AS, 'id' => parent, 'type' => 'Note', 'attributedTo' => author['id'],
                        'content' => '<p>parent</p>', 'published' => '2026-01-01T09:00:00Z', 'to' => [PUBLIC])
      act = social.create_note('bob', "#{tag}#{i}", text: "reply #{i}")
      act['object']['inReplyTo'] = parent
      act
    else # bob's profile Update
      doc = JSON.parse(File.read(File.join(root, HOSTS[0], 'users/bob.json')))
      doc.delete('@context')
      { '@context' => ActorShapes::AS, 'id' => "#{bob_uri}#updates/#{tag}#{i}", 'type' => 'Update',
        'actor' => bob_uri, 'to' => [PUBLIC], 'object' => doc.merge('name' => "Bob #{i}") }
    end
  end
  [bob, acts]
end

def run_stream(bin, label, root, port, n, tmp, concurrency, redis)
  redis.flushdb
  bob, acts = build_stream(root, port, n, label)
  Fediverse.push_all(bob, acts)
  pid = run_scotty(bin, label, tmp, concurrency, %w[ingress pull])
  log = File.join(tmp, "#{label}.log")
  wait_for("the #{label} stream to drain", 900, log) do
    redis.llen('queue:ingress').zero? && redis.llen('queue:pull').zero? &&
      redis.keys('queue:scotty|*').sum { |k| redis.llen(k) }.zero?
  end
  stop(pid)
  fwd = redis.lrange('queue:ruby', 0, -1).map { |j| JSON.parse(j)['class'] }
  ingress = fwd.count('ActivityPub::ProcessingWorker')
  [ingress, fwd.size - ingress, fwd.tally]
end

results = {}
[['before', before_bin], ['after', after_bin]].each do |label, bin|
  next if bin.empty?

  ingress, pull, tally = run_stream(bin, label, root, port, n_stream, tmp, concurrency, redis)
  results[label] = ingress
  printf("%-6s: %d of %d ingress jobs forwarded to Ruby (%.1f%%); %d follow-up jobs forwarded too %s\n",
         label, ingress, n_stream, 100.0 * ingress / n_stream, pull, tally.inspect)
end
if results.size == 2
  printf("forwarded share of the fixture ingress stream: before %.1f%%, after %.1f%%\n",
         100.0 * results['before'] / n_stream, 100.0 * results['after'] / n_stream)
end
