# frozen_string_literal: true

# stream_bench.rb -- the measuring half of tests/bench/stream.sh (which provides
# PostgreSQL with Mastodon's schema in DB_* and PG_PSQL).
# Args: scotty binary (this tree), scotty binary (before, or ""), activities, concurrency.
#
# The stream is built from the payload fixtures in tests/ingress/fixtures (the shapes
# Mastodon, Misskey, Pleroma, GoToSocial and PeerTube send), every id made unique, the
# hosts pointed at a loopback origin, and pushed as ActivityPub::ProcessingWorker jobs
# from bob, whom the local alice follows. The mix per 100 activities is KINDS below: an
# assumption modelled on a mid-sized server's inbox (likes and boosts outnumber posts;
# polls, quotes, reactions and edits are a few each), not a measurement. Each binary runs
# the stream on `ingress` and `pull` with --forward-unhandled/--forward-unknown ruby;
# what lands in `queue:ruby` is what Ruby would still have to do, counted per kind.
require_relative 'bench_env'
require_relative '../lib/fediverse'

after_bin, before_bin = ARGV[0], ARGV[1].to_s
n_acts, concurrency = ARGV[2..3].map { |a| Integer(a) }
FIXTURES = File.expand_path('../ingress/fixtures', __dir__)
HOSTS = %w[127.0.0.2 127.0.0.3 127.0.0.4].freeze
ALICE_STATUS = 'https://scotty.test/users/alice/statuses/113400000000000000'

# kind => share of 100.
KINDS = {
  'Create Note (Mastodon)' => 12, 'Create Note (Misskey, emoji)' => 4, 'Create Note (Pleroma)' => 4,
  'Create Note (GoToSocial)' => 4, 'Create Video (PeerTube)' => 1, 'Create Article' => 1,
  'Create Question' => 4, 'Create quote (FEP-044f self-quote)' => 1, 'Create quote (_misskey_quote)' => 1,
  'Create quote (quoteUrl)' => 1, 'Like' => 21, 'Like (Misskey reaction)' => 2, 'EmojiReact' => 4, 'Announce' => 16, 'Undo Like' => 3,
  'Undo Announce' => 2, 'Undo EmojiReact' => 1, 'Delete' => 6, 'Update Note (text)' => 3, 'Update quote post (text)' => 1,
  'Update Question (counts)' => 2, 'Update Note (media)' => 1, 'Update Person' => 3, 'Follow' => 2
}.freeze
raise 'the mix must add up to 100' unless KINDS.values.sum == 100

env = BenchEnv.new('stream', HOSTS)
tmp, root, redis, port = env.tmp, env.root, env.redis, env.port
$scotty_pids = env.pids
ENV_BASE = { 'REDIS_URL' => env.redis_server.url, 'PAPERCLIP_ROOT_PATH' => File.join(tmp, 'system'),
             'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8', 'LOCAL_DOMAIN' => 'scotty.test' }.freeze
REMOTE = "http://#{HOSTS[0]}:#{port}"
BOB = "#{REMOTE}/users/bob"

# A fixture with the example hosts pointed at the origin.
def fixture(name, port)
  text = File.read(File.join(FIXTURES, "#{name}.json"))
  text = text.gsub('https://remote.example', "http://#{HOSTS[0]}:#{port}")
             .gsub('https://other.example', "http://#{HOSTS[1]}:#{port}")
             .gsub('https://news.example', "http://#{HOSTS[2]}:#{port}")
  JSON.parse(text)
end

# The origin serves the custom emoji and the media the fixtures name.
def publish_media(root)
  png = File.join(root, HOSTS[0], 'emoji', 'blobcat.png')
  FileUtils.mkdir_p(File.dirname(png))
  system('ffmpeg', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=32x32', '-frames:v', '1',
         png, exception: true)
  base = File.join(root, HOSTS[0], 'system/media_attachments/files/113/500/000/000/000')
  FileUtils.mkdir_p("#{base}/001/original")
  FileUtils.mkdir_p("#{base}/002/original")
  system('ffmpeg', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=640x360', '-frames:v', '1',
         "#{base}/001/original/a1b2c3d4e5f60718.jpg", exception: true)
  FileUtils.cp(png, "#{base}/002/original/0f1e2d3c4b5a6978.png")
end

# A Create with fresh activity and object ids; returns [activity, object id].
def fresh_create(doc, uid)
  obj = doc['object']
  note = "#{obj['id']}-#{uid}"
  doc['id'] = "#{note}/activity"
  obj['id'] = note
  obj['url'] = note if obj['url'].is_a?(String)
  obj['atomUri'] = note if obj.key?('atomUri')
  obj.delete('inReplyTo')
  obj.delete('inReplyToAtomUri')
  [doc, note]
end

def quote_keys(obj, uri)
  %w[quote _misskey_quote quoteUrl quoteUri].each { |k| obj.delete(k) }
  obj.merge!(uri) if uri
end

# One activity of a kind; state carries what earlier activities created.
def make(kind, uid, port, state)
  case kind
  when 'Create Note (Mastodon)'
    act, note = fresh_create(fixture('create_note_mastodon', port), uid)
    (state[:notes] << note) && act
  when 'Create Note (Misskey, emoji)'
    act, = fresh_create(fixture('create_note_misskey', port), uid)
    quote_keys(act['object'], nil)
    act
  when 'Create Note (Pleroma)' then fresh_create(fixture('create_note_pleroma', port), uid).first
  when 'Create Note (GoToSocial)' then fresh_create(fixture('create_note_gotosocial', port), uid).first
  when 'Create Video (PeerTube)' then fresh_create(fixture('create_video_peertube', port), uid).first
  when 'Create Article' then fresh_create(fixture('create_article', port), uid).first
  when 'Create Question'
    src = %w[create_question create_question_misskey create_question_pleroma create_question_gotosocial][uid % 4]
    act, note = fresh_create(fixture(src, port), uid)
    act['object']['endTime'] = (Time.now.utc + 86_400).strftime('%Y-%m-%dT%H:%M:%SZ')
    act['object'].delete('closed')
    state[:polls] << act['object']
    act
  when 'Create quote (FEP-044f self-quote)'
    act, = fresh_create(fixture('create_note_mastodon', port), uid)
    quoted = state[:notes].last || ALICE_STATUS
    quote_keys(act['object'], 'quote' => quoted, '_misskey_quote' => quoted, 'quoteUri' => quoted)
    state[:quotes] << act['object']
    act
  when 'Create quote (_misskey_quote)'
    act, = fresh_create(fixture('create_note_misskey', port), uid)
    quote_keys(act['object'], '_misskey_quote' => ALICE_STATUS, 'quoteUrl' => ALICE_STATUS)
    act
  when 'Create quote (quoteUrl)'
    act, = fresh_create(fixture('create_note_pleroma', port), uid)
    quote_keys(act['object'], 'quoteUrl' => ALICE_STATUS)
    act
  when 'Like', 'Like (Misskey reaction)', 'EmojiReact', 'Announce'
    act = fixture({ 'Like' => 'like', 'Like (Misskey reaction)' => 'like_misskey_reaction',
                    'EmojiReact' => 'emoji_react_pleroma', 'Announce' => 'announce' }[kind], port)
    act['id'] = "#{act['id']}-#{uid}"
    act['published'] = Time.now.utc.strftime('%Y-%m-%dT%H:%M:%SZ') if act.key?('published')
    (state[kind] << act) && act
  when 'Undo Like', 'Undo Announce', 'Undo EmojiReact'
    base = kind.sub('Undo ', '')
    make(base, uid, port, state) if state[base].empty?
    inner = state[base].shift.reject { |k, _| k == '@context' }
    { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{inner['id']}/undo", 'type' => 'Undo',
      'actor' => BOB, 'object' => inner }
  when 'Delete'
    note = state[:notes].shift || "#{BOB}/statuses/gone-#{uid}"
    act = fixture('delete_tombstone', port)
    act['id'] = "#{note}#delete"
    act['object'] = { 'id' => note, 'type' => 'Tombstone', 'atomUri' => note }
    act
  when 'Update Note (text)', 'Update Note (media)'
    note = state[:notes].last || make('Create Note (Mastodon)', uid, port, state)['object']['id']
    act = fixture('create_note_mastodon', port)
    obj = act['object']
    obj.merge!('id' => note, 'url' => note, 'atomUri' => note, 'updated' => Time.now.utc.strftime('%Y-%m-%dT%H:%M:%SZ'))
    obj.delete('inReplyTo')
    obj.delete('inReplyToAtomUri')
    if kind.end_with?('(media)')
      obj['attachment'] = obj['attachment'].first(1).map { |m| m.merge('name' => "edited #{uid}") }
    else
      obj['content'] = "<p>edited #{uid}</p>"
      obj.delete('contentMap')
    end
    act.merge('id' => "#{note}#updates/#{uid}", 'type' => 'Update')
  when 'Update quote post (text)'
    quote = state[:quotes].last || make('Create quote (FEP-044f self-quote)', uid, port, state)['object']
    obj = JSON.parse(JSON.generate(quote)).merge('content' => "<p>edited #{uid}</p>",
                                                 'updated' => Time.now.utc.strftime('%Y-%m-%dT%H:%M:%SZ'))
    obj.delete('contentMap')
    { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{obj['id']}#updates/#{uid}", 'type' => 'Update',
      'actor' => BOB, 'object' => obj }
  when 'Update Question (counts)'
    poll = state[:polls].last || make('Create Question', uid, port, state)['object']
    obj = JSON.parse(JSON.generate(poll))
    (obj['oneOf'] || obj['anyOf']).each_with_index { |o, i| o['replies'] = { 'type' => 'Collection', 'totalItems' => i + 1 } }
    obj['votersCount'] = 3
    obj['updated'] = Time.now.utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{obj['id']}#updates/#{uid}", 'type' => 'Update',
      'actor' => obj['attributedTo'].is_a?(String) ? obj['attributedTo'] : BOB, 'object' => obj }
  when 'Update Person'
    doc = JSON.parse(File.read(File.join(state[:root], HOSTS[0], 'users/bob.json')))
    doc.delete('@context')
    { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{BOB}#updates/#{uid}", 'type' => 'Update',
      'actor' => BOB, 'object' => doc.merge('name' => "Bob #{uid}") }
  when 'Follow'
    act = fixture('follow', port)
    act.merge('id' => "#{act['id']}-#{uid}")
  end
end

# The stream: KINDS interleaved by a fixed shuffle; returns [activities, id => kind].
def build_stream(n, port, root)
  order = KINDS.flat_map { |k, w| [k] * w }.shuffle(random: Random.new(42))
  state = Hash.new { |h, k| h[k] = [] }
  state[:root] = root
  kinds = {}
  acts = (0...n).map do |i|
    kind = order[i % order.size]
    act = make(kind, i, port, state)
    kinds[act['id']] = kind
    act
  end
  [acts, kinds]
end

def prepare_db
  Fediverse.psql('TRUNCATE accounts, statuses, custom_emojis CASCADE')
  Fediverse.add_local_account(1, 'alice')
  Fediverse.psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at, local, visibility) " \
                 "VALUES (113400000000000000, #{Fediverse.q(ALICE_STATUS)}, 1, 'hello', now(), now(), true, 0)")
end

def run_stream(bin, label, n, tmp, concurrency, redis, port, root)
  redis.flushdb
  prepare_db
  social = Fediverse::Server.new(root, HOSTS[0], port)
  bob = social.add_account(2, 'bob', followed_by: 1)
  acts, kinds = build_stream(n, port, root)
  Fediverse.push_all(bob, acts)
  log = File.join(tmp, "#{label}.log")
  pid = Process.spawn(ENV_BASE, bin, '-c', concurrency.to_s, '-q', 'ingress', '-q', 'pull',
                      '--forward-unhandled', 'ruby', '--forward-unknown', 'ruby', err: log)
  $scotty_pids << pid
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 900
  until redis.llen('queue:ingress').zero? && redis.llen('queue:pull').zero? &&
        redis.keys('queue:scotty|*').sum { |k| redis.llen(k) }.zero?
    abort "the #{label} stream did not drain in 900 s:\n#{File.readlines(log).last(40).join}" if
      Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    sleep 0.05
  end
  Process.kill('TERM', pid)
  Process.wait(pid)
  $scotty_pids.delete(pid)
  jobs = redis.lrange('queue:ruby', 0, -1).map { |j| JSON.parse(j) }
  ingress = jobs.select { |j| j['class'] == 'ActivityPub::ProcessingWorker' }
  by_kind = ingress.map { |j| kinds.fetch(JSON.parse(j['args'][1])['id'], 'other') }.tally
  followups = (jobs - ingress).map { |j| j['class'] }.tally
  [kinds.values.tally, by_kind, followups, ingress.size, redis.zcard('retry'), redis.zcard('dead')]
end

publish_media(root)
results = {}
[['before', before_bin], ['after', after_bin]].each do |label, bin|
  next if bin.empty?

  results[label] = run_stream(bin, label, n_acts, tmp, concurrency, redis, port, root)
  total, _by_kind, followups, fwd, retries, dead = results[label]
  printf("%-6s: %d of %d ingress jobs forwarded to Ruby (%.1f%%); follow-up jobs forwarded: %s; " \
         "left in retry %d, dead %d\n", label, fwd, total.values.sum, 100.0 * fwd / total.values.sum,
         followups.inspect, retries, dead)
end
total = results.values.first[0]
printf("\n%-40s %6s %8s %8s\n", 'kind (share of 100)', 'sent', 'before', 'after')
KINDS.each do |kind, w|
  cols = %w[before after].map { |l| results[l] ? results[l][1].fetch(kind, 0).to_s : '-' }
  printf("%-40s %6d %8s %8s\n", "#{kind} (#{w})", total.fetch(kind, 0), *cols)
end
shares = %w[before after].map { |l| results[l] ? format('%.1f%%', 100.0 * results[l][3] / total.values.sum) : '-' }
printf("forwarded share of the status stream: before %s, after %s\n", *shares)
