# frozen_string_literal: true

# test_accounts.rb -- remote accounts resolved natively (worker/accounts): actors in six
# servers' shapes fetched, confirmed by WebFinger and stored with every column
# ActivityPub::ProcessAccountService writes; domain blocks; unknown authors of boosted
# statuses and unknown mentions resolved instead of forwarded; account Updates,
# AccountRefreshWorker, ResolveAccountWorker, MentionResolveWorker and the stale-account
# refresh; bad actors refused with nothing written. The expected values are what
# Mastodon's code stores for the same documents (each stated next to its assertion).
require_relative 'ingress_helper'
require_relative 'actor_shapes'
require 'open3'
require 'openssl'
require 'zlib'

class AccountsTest < IngressTest
  HOSTS = %w[127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7].freeze
  H = HOSTS[0]
  # Eleven hosts with one registrable name: PublicSuffix.domain('127.N.0.2') is "0.2"
  # (the list's "*" rule makes the last label a public suffix).
  SUBDOMAIN_HOSTS = (1..11).map { |n| "127.#{n}.0.2" }.freeze
  PUBLIC = 'https://www.w3.org/ns/activitystreams#Public'

  def setup
    super
    psql('TRUNCATE domain_blocks, keypairs')
    start_shapes_origin unless name.include?('authorized_fetch')
  end

  def teardown
    @shapes_in&.close
    Process.wait(@shapes_pid) if @shapes_pid
    super
  end

  # keys: {keyId => public PEM}: GETs must be signed with one of them (authorized fetch).
  def start_shapes_origin(keys: nil)
    @shapes_root = File.join(@tmp ||= Dir.mktmpdir('scotty-accounts'), 'shapes')
    FileUtils.mkdir_p(@shapes_root)
    args = ['--root', @shapes_root, '--log', File.join(@tmp, 'shapes.jsonl')]
    if keys
      File.write(File.join(@tmp, 'keys.json'), JSON.generate(keys))
      args += ['--keys', File.join(@tmp, 'keys.json'), '--require-signature']
    end
    (HOSTS + SUBDOMAIN_HOSTS).each { |h| args += ['--bind', h] }
    in_r, @shapes_in = IO.pipe
    out_r, out_w = IO.pipe
    @shapes_pid = Process.spawn('ruby', File.join(HERE, 'origin.rb'), *args, in: in_r, out: out_w,
                                                                             err: File.join(@tmp, 'shapes.err'))
    in_r.close
    out_w.close
    line = Timeout.timeout(20) { out_r.gets }
    raise "origin.rb did not start: #{File.read(File.join(@tmp, 'shapes.err'))}" unless line&.start_with?('READY ')

    @port = line.split[1].to_i
  end

  def base(host = H) = "http://#{host}:#{@port}"

  def publish(kind, name, host: H, **kw, &blk)
    ActorShapes.publish(@shapes_root, kind, host, @port, name, **kw, &blk)
  end

  def wf_env
    { 'SCOTTY_WEBFINGER_URL' => "http://{domain}:#{@port}/.well-known/webfinger?resource={resource}",
      'SCOTTY_HOST_META_URL' => "http://{domain}:#{@port}/.well-known/host-meta" }
  end

  # scotty on the queues the tests push to; follow-ups it pushes (pull, default) stay queued.
  def start_accounts_scotty(queues = %w[acct ingress])
    start_scotty('-c', '2', *queues.flat_map { |q| ['-q', q] }, '--forward-unhandled', 'ruby',
                 '--media-defer', 'pull', env: db_env.merge(wf_env))
  end

  def push(klass, args, queue: 'acct')
    Sidekiq::Client.push('class' => klass, 'queue' => queue, 'args' => args)
  end

  def wait_queues_idle(*queues)
    wait_until(90, "the #{queues.join(', ')} jobs to finish\n#{@scottys.last&.log}") do
      queues.all? { |q| @redis.llen("queue:#{q}").zero? } && Sidekiq::Workers.new.size.zero? &&
        @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
  end

  def resolve(handle)
    push('ResolveAccountWorker', [handle])
    wait_queues_idle('acct')
  end

  # The accounts row of uri as a Hash of strings, or nil.
  def account(uri)
    out = psql("SELECT row_to_json(a) FROM (SELECT id::text, username, domain, uri, url, display_name, note, " \
               "actor_type, locked, discoverable, indexable, memorial, inbox_url, outbox_url, shared_inbox_url, " \
               "followers_url, following_url, featured_collection_url, collections_url, fields, also_known_as, " \
               "attribution_domains, avatar_remote_url, avatar_description, header_remote_url, " \
               "header_description, protocol, public_key, private_key, hide_collections, " \
               "feature_approval_policy, suspended_at, silenced_at, moved_to_account_id, " \
               "to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at, " \
               "last_webfingered_at IS NOT NULL AS webfingered, " \
               "to_char(to_timestamp((id >> 16) / 1000), 'YYYY-MM-DD') AS id_day " \
               "FROM accounts WHERE uri = #{q(uri)}) a").strip
    out.empty? ? nil : JSON.parse(out)
  end

  def keys_of(id)
    JSON.parse(psql("SELECT coalesce(json_agg(json_build_array(type::text, uri, public_key) ORDER BY uri), '[]') " \
                    "FROM keypairs WHERE account_id = #{id}"))
  end

  def stats_of(id)
    rows("SELECT statuses_count, following_count, followers_count FROM account_stats WHERE account_id = #{id}")
  end

  def job_args(queue, klass)
    queued(queue, klass).map { |j| j['args'] }
  end

  def test_mastodon_actor_every_column_as_mastodon_stores_it
    doc = publish(:mastodon, 'carol')
    start_accounts_scotty
    resolve("carol@#{H}")
    a = account(doc['id'])
    refute_nil a, "the account is created\n#{@scottys[0].log}"
    id = a['id'].to_i
    # set_immediate_protocol_attributes!, set_immediate_attributes!, set_fetchable_attributes!
    expected = {
      'username' => 'carol', 'domain' => H, 'uri' => doc['id'], 'url' => "#{base}/@carol",
      'display_name' => 'Carol', 'note' => '<p>I write about tea.</p>', 'actor_type' => 'Person',
      'locked' => false, 'discoverable' => true, 'indexable' => true, 'memorial' => false,
      'inbox_url' => "#{doc['id']}/inbox", 'outbox_url' => "#{doc['id']}/outbox",
      'shared_inbox_url' => "#{base}/inbox", 'followers_url' => "#{doc['id']}/followers",
      'following_url' => "#{doc['id']}/following",
      'featured_collection_url' => "#{doc['id']}/collections/featured",
      'collections_url' => '', # valid_collection_uri(nil)
      'fields' => [{ 'name' => 'Blog', 'value' => '<a href="https://blog.example/" rel="me">blog.example</a>' }],
      'also_known_as' => ["#{base}/users/oldcarol"], 'attribution_domains' => ['tea.example'],
      'avatar_remote_url' => "#{base}/media/carol.png", 'avatar_description' => '',
      'header_remote_url' => "#{base}/media/carol-h.jpg", 'header_description' => '',
      'protocol' => 1, 'public_key' => '', # set_fetchable_key! empties the legacy column
      'private_key' => nil, 'hide_collections' => false, 'feature_approval_policy' => 0,
      'suspended_at' => nil, 'silenced_at' => nil, 'moved_to_account_id' => nil,
      'created_at' => '2023-04-01 00:00:00', 'webfingered' => true,
      'id_day' => '2023-04-01' # Mastodon::Snowflake backdates the id from a past created_at
    }
    assert_equal expected, a.reject { |k, _| k == 'id' }
    assert_equal [['0', "#{doc['id']}#main-key", ActorShapes.pem]], keys_of(id), 'keypairs: rsa, by key id'
    assert_equal [%w[3 2 5]], stats_of(id), 'account_stats from the collections\' totalItems'
    assert_equal [[id]], job_args('pull', 'RedownloadAvatarWorker')
    assert_equal [[id]], job_args('pull', 'RedownloadHeaderWorker')
    sync = job_args('pull', 'ActivityPub::SynchronizeFeaturedCollectionWorker')
    assert_equal 1, sync.size
    assert_equal [id, false, "#{doc['id']}/collections/featured"],
                 [sync[0][0], sync[0][1]['hashtag'], sync[0][1]['collection']]
    assert_equal [[id, "#{doc['id']}/collections/tags"]],
                 job_args('pull', 'ActivityPub::SynchronizeFeaturedTagsCollectionWorker')
    verify = scheduled('VerifyAccountLinksWorker') + queued('default', 'VerifyAccountLinksWorker')
    assert_equal [[id]], verify.map { |j| j['args'] }, 'an https link field: perform_in(rand(10.minutes))'

    # a second resolve within a day finds the fresh account and fetches nothing
    before = File.readlines(File.join(@tmp, 'shapes.jsonl')).size
    resolve("@carol@#{H}")
    assert_equal before, File.readlines(File.join(@tmp, 'shapes.jsonl')).size, 'not stale: no request'
    assert_equal 1, count('accounts', "domain = #{q(H)}")
  end

  # Webfinger#body_from_host_meta: a 404 at the standard URL asks host-meta, whose lrdd
  # template names where WebFinger is; a host-meta without one gives up.
  def test_webfinger_404_falls_back_to_host_meta
    doc = publish(:mastodon, 'hedy')
    FileUtils.mv(File.join(@shapes_root, H, '.well-known', 'webfinger', "acct:hedy@#{H}"),
                 File.join(@shapes_root, H, 'wf-alt.json'))
    File.write(File.join(@shapes_root, H, '.well-known', 'host-meta'), <<~XML)
      <?xml version="1.0" encoding="UTF-8"?>
      <XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
        <Link rel="author" template="#{base}/not-this?resource={uri}"/>
        <Link rel="lrdd" type="application/xrd+xml" template="#{base}/wf-alt?resource={uri}"/>
      </XRD>
    XML
    start_accounts_scotty
    resolve("hedy@#{H}")
    refute_nil account(doc['id']), @scottys[0].log
    paths = File.readlines(File.join(@tmp, 'shapes.jsonl')).map { |l| JSON.parse(l)['path'] }
    assert_includes paths, '/.well-known/host-meta'
    assert_includes paths, "/wf-alt?resource=acct:hedy@#{H}"

    other = publish(:mastodon, 'ivo')
    File.delete(File.join(@shapes_root, H, '.well-known', 'webfinger', "acct:ivo@#{H}"))
    File.write(File.join(@shapes_root, H, '.well-known', 'host-meta'),
               '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Link rel="author"/></XRD>')
    resolve("ivo@#{H}")
    assert_nil account(other['id'])
    assert_match(/host-meta without link to Webfinger/, @scottys[0].log)
  end

  def test_six_server_shapes
    docs = ActorShapes::KINDS.each_with_index.to_h do |kind, i|
      [kind, publish(kind, "u#{kind}", host: HOSTS[i])]
    end
    start_accounts_scotty
    docs.each_with_index { |(kind, _), i| push('ResolveAccountWorker', ["u#{kind}@#{HOSTS[i]}"]) }
    wait_queues_idle('acct')
    got = docs.to_h do |kind, doc|
      a = account(doc['id'])
      refute_nil a, "#{kind} account\n#{@scottys[0].log}"
      [kind, a]
    end
    # Misskey: opaque id, manuallyApprovesFollowers true, icon without type check issues
    assert_equal ['umisskey', 'Person', true, false, "#{base(HOSTS[1])}/@umisskey", '<p>nyaa</p>',
                  "#{base(HOSTS[1])}/files/umisskey.webp", ''],
                 got[:misskey].values_at('username', 'actor_type', 'locked', 'discoverable', 'url', 'note',
                                         'avatar_remote_url', 'header_remote_url')
    assert_equal [{ 'name' => 'Pronouns', 'value' => 'she/her' }], got[:misskey]['fields']
    # Pleroma: url equal to the id; empty attachment list stores []
    assert_equal [docs[:pleroma]['id'], 'pleroma user<br/>', [], []],
                 got[:pleroma].values_at('url', 'note', 'fields', 'also_known_as')
    # GoToSocial: the key id lives outside the actor document; its fetch answers with the actor
    gts = got[:gotosocial]
    assert_equal [['0', "#{docs[:gotosocial]['id']}/main-key", ActorShapes.pem]], keys_of(gts['id'])
    assert_equal ['2024-02-02 12:00:00', false], gts.values_at('created_at', 'indexable')
    # Lemmy: a Group; no fields (attachment absent: {}), banner as header
    lemmy = got[:lemmy]
    assert_equal ['Group', {}, "#{base(HOSTS[4])}/pictrs/ulemmy-banner.png", '2022-06-01 08:30:00', ''],
                 lemmy.values_at('actor_type', 'fields', 'header_remote_url', 'created_at', 'featured_collection_url')
    assert_equal '123', psql("SELECT to_char(created_at, 'MS') FROM accounts WHERE id = #{lemmy['id']}").strip,
                 'published .123456: created_at keeps the milliseconds'
    # PeerTube: icon is an array (first_of_value: the 48 px one), summary null -> ''
    pt = got[:peertube]
    assert_equal ["#{base(HOSTS[5])}/lazy-static/avatars/upeertube-48.png", '', docs[:peertube]['id']],
                 pt.values_at('avatar_remote_url', 'note', 'url')
    docs.each_key { |k| assert_equal [%w[3 2 5]], stats_of(got[k]['id']), "#{k} stats" }
  end

  def test_domain_blocks
    publish(:mastodon, 'sus', host: HOSTS[0])
    silenced = publish(:mastodon, 'quiet', host: HOSTS[1])
    nomedia = publish(:mastodon, 'plain', host: HOSTS[2])
    psql("INSERT INTO domain_blocks (domain, severity, reject_media, created_at, updated_at) VALUES " \
         "(#{q(HOSTS[0])}, 1, false, '2025-01-01 10:00:00', now()), " \
         "(#{q(HOSTS[1])}, 0, false, '2025-02-02 11:00:00', now()), " \
         "(#{q(HOSTS[2])}, 2, true, '2025-03-03 12:00:00', now())")
    start_accounts_scotty
    %w[sus quiet plain].each_with_index { |n, i| push('ResolveAccountWorker', ["#{n}@#{HOSTS[i]}"]) }
    wait_queues_idle('acct')
    assert_equal 0, count('accounts', "domain = #{q(HOSTS[0])}"), "suspend: rejected\n#{@scottys[0].log}"
    q = account(silenced['id'])
    assert_equal '2025-02-02T11:00:00', q['silenced_at'], 'silence: silenced_at = the block\'s created_at'
    p = account(nomedia['id'])
    assert_nil p['avatar_remote_url'], 'reject_media: the avatar URL is never assigned'
    assert_equal '', p['header_remote_url']
    assert_nil p['silenced_at']
    assert_equal [[q['id'].to_i]], job_args('pull', 'RedownloadAvatarWorker'), 'no download for reject_media'
  end

  # ProcessAccountService::SUBDOMAINS_RATELIMIT: an account of a domain the instances view
  # does not list refreshes the view and counts the domain in unique_subdomains_for:<name>
  # for a minute; from the tenth such subdomain on, no new account of that name is made.
  def test_subdomain_rate_limit
    SUBDOMAIN_HOSTS.each { |h| publish(:mastodon, 'sub', host: h) }
    start_accounts_scotty
    SUBDOMAIN_HOSTS.each { |h| resolve("sub@#{h}") }
    log = @scottys[0].log
    made = rows("SELECT domain FROM accounts WHERE username = 'sub'").flatten
    assert_equal SUBDOMAIN_HOSTS.first(10).sort, made.sort, log
    assert_equal SUBDOMAIN_HOSTS.first(10).sort, rows("SELECT domain FROM instances WHERE domain LIKE '127.%.0.2' " \
                                                    'ORDER BY domain').flatten.sort, 'the view was refreshed'
    assert_equal 10, @redis.pfcount('unique_subdomains_for:0.2')
    assert_includes 1..60, @redis.ttl('unique_subdomains_for:0.2'), 'the count lives a minute'
    assert_match(/10 subdomains of 0\.2 got their first account in the last minute .*no account is created for 127\.11\.0\.2/,
                 log)
    assert_empty retries, 'Mastodon returns nil: no retry'
  end

  def test_bad_actors_write_nothing
    # id on another host: the document at H says it is on HOSTS[1]
    publish(:mastodon, 'spoof') { |d| d['id'] = "#{base(HOSTS[1])}/users/spoof" }
    # WebFinger pointing elsewhere
    publish(:mastodon, 'wfother', webfinger: { 'links' => [{ 'rel' => 'self', 'type' => 'application/activity+json',
                                                             'href' => "#{base(HOSTS[1])}/users/x" }] })
    # a malformed key
    publish(:mastodon, 'badkey') { |d| d['publicKey']['publicKeyPem'] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }
    # a username collision: @taken@H is account 50 with another uri
    publish(:mastodon, 'taken')
    psql("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) VALUES (50, 'taken', " \
         "#{q(H)}, 'http://other.example/users/taken', now(), now())")
    # the status the mentions are for
    psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at) VALUES (1, 'x:1', #{BOB}, '', now(), now())")
    start_accounts_scotty
    %w[spoof wfother badkey taken].each { |n| push('MentionResolveWorker', [1, "#{base}/users/#{n}", {}]) }
    wait_queues_idle('acct')
    log = @scottys[0].log
    assert_equal %w[50], rows("SELECT id FROM accounts WHERE domain = #{q(H)}").flatten, log
    assert_equal 0, count('mentions')
    assert_match(/has the id .*spoof: refused/, log)
    assert_match(/does not loop back/, log)
    assert_match(/malformed public key/, log)
    assert_match(/username collision/, log)
    assert_empty retries, 'Mastodon gives up on each: no retry'
  end

  # An Ed25519 key as FEP-521a's publicKeyMultibase, and the PEM Mastodon stores for it.
  def ed25519_multikey
    key = OpenSSL::PKey.generate_key('ED25519')
    raw = key.public_to_der[-32..]
    [multibase58("\xed\x01".b + raw), key.public_to_pem]
  end

  # ProcessAccountService#fep_521a_public_keys: Multikeys of assertionMethod controlled by
  # the actor, inline (the id is in the actor document) or fetched by id, before the
  # legacy publicKey; each is a keypairs row of its type (ed25519 1) with the PEM
  # Mastodon builds. One controlled by someone else is skipped.
  def test_fep_521a_multikeys_are_stored_as_keypairs
    inline, inline_pem = ed25519_multikey
    remote, remote_pem = ed25519_multikey
    other, = ed25519_multikey
    doc = publish(:mastodon, 'mira') do |d|
      d['assertionMethod'] = [
        { 'id' => "#{d['id']}#ed25519-key", 'type' => 'Multikey', 'controller' => d['id'],
          'publicKeyMultibase' => inline },
        "#{base}/keys/mira-2",
        { 'id' => "#{d['id']}#stolen", 'type' => 'Multikey', 'controller' => "#{base}/users/else",
          'publicKeyMultibase' => other }
      ]
    end
    ActorShapes.write(@shapes_root, H, 'keys/mira-2.json',
                      '@context' => 'https://w3id.org/security/multikey/v1', 'id' => "#{base}/keys/mira-2",
                      'type' => 'Multikey', 'controller' => doc['id'], 'publicKeyMultibase' => remote)
    start_accounts_scotty
    resolve("mira@#{H}")
    a = account(doc['id'])
    refute_nil a, @scottys[0].log
    assert_equal [['1', "#{base}/keys/mira-2", remote_pem], ['1', "#{doc['id']}#ed25519-key", inline_pem],
                  ['0', "#{doc['id']}#main-key", ActorShapes.pem]].sort_by { |k| k[1] }, keys_of(a['id'])
  end

  # A Multikey by id that cannot be fetched makes Ruby raise: nothing is stored.
  def test_fep_521a_multikey_that_cannot_be_fetched_writes_nothing
    doc = publish(:mastodon, 'mino') { |d| d['assertionMethod'] = "#{base}/keys/missing" }
    start_accounts_scotty
    resolve("mino@#{H}")
    assert_nil account(doc['id']), @scottys[0].log
    assert_match(%r{assertionMethod key #{Regexp.escape(base)}/keys/missing could not be fetched}, @scottys[0].log)
  end

  # Mastodon signs the actor, key and collection GETs as the instance actor (account -99);
  # WebFinger is unsigned.
  def test_authorized_fetch_signs_as_the_instance_actor
    key = OpenSSL::PKey::RSA.new(2048)
    psql("INSERT INTO accounts (id, username, domain, uri, private_key, public_key, actor_type, created_at, " \
         "updated_at) VALUES (-99, 'mastodon.internal', NULL, NULL, #{q(key.to_pem)}, " \
         "#{q(key.public_key.to_pem)}, 'Application', now(), now())")
    start_shapes_origin(keys: { "https://#{LOCAL_DOMAIN}/actor#main-key" => key.public_key.to_pem })
    doc = publish(:gotosocial, 'gina')
    start_accounts_scotty
    resolve("gina@#{H}")
    a = account(doc['id'])
    refute_nil a, @scottys[0].log
    assert_equal 1, keys_of(a['id']).size, 'the key document was fetched signed too'
    reqs = File.readlines(File.join(@tmp, 'shapes.jsonl')).map { |l| JSON.parse(l) }
    fetched = reqs.reject { |r| r['path'].start_with?('/.well-known/') }
    refute_empty fetched
    assert(fetched.all? { |r| r['signed'] && r['status'] == 200 }, reqs.inspect)
  end

  def test_many_fields_and_a_huge_note_are_cut_as_mastodon_does
    doc = publish(:mastodon, 'talker') do |d|
      d['attachment'] = (1..3000).map { |i| { 'type' => 'PropertyValue', 'name' => "f#{i}", 'value' => 'v' } }
      d['summary'] = 'é' * 30_000
    end
    start_accounts_scotty
    resolve("talker@#{H}")
    a = account(doc['id'])
    refute_nil a, @scottys[0].log
    assert_equal 50, a['fields'].size, 'MAX_PROFILE_FIELDS'
    assert_equal 'f50', a['fields'].last['name']
    assert_equal 20_480, a['note'].length, 'NOTE_LENGTH_HARD_LIMIT characters'
    assert_match(/sent 3000 profile fields; the first 50 kept/, @scottys[0].log)
  end

  def test_redirect_loop_and_gone_give_up
    psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at) VALUES (1, 'x:1', #{BOB}, '', now(), now())")
    start_accounts_scotty
    push('MentionResolveWorker', [1, "#{base}/_loop", {}])
    push('MentionResolveWorker', [1, "#{base}/_status/410", {}])
    wait_queues_idle('acct')
    assert_empty retries, @scottys[0].log
    assert_equal 0, count('accounts', "domain = #{q(H)}")
  end

  def test_boost_of_a_status_by_an_unknown_author_resolves_the_author
    doc = publish(:mastodon, 'dave')
    note = "#{doc['id']}/statuses/1"
    ActorShapes.write(@shapes_root, H, 'users/dave/statuses/1.json',
                      '@context' => ActorShapes::AS, 'id' => note, 'type' => 'Note', 'attributedTo' => doc['id'],
                      'content' => '<p>dave is new here</p>', 'published' => '2026-01-01T10:00:00Z',
                      'to' => [PUBLIC], 'cc' => ["#{doc['id']}/followers"])
    start_accounts_scotty
    body = JSON.generate('@context' => ActorShapes::AS, 'id' => "#{BOB_URI}/statuses/9/activity",
                         'type' => 'Announce', 'actor' => BOB_URI, 'published' => '2026-01-01T11:00:00Z',
                         'to' => [PUBLIC], 'cc' => ["#{BOB_URI}/followers"], 'object' => note)
    deliver(body)
    wait_queues_idle('ingress')
    dave = account(doc['id'])
    refute_nil dave, "the author is resolved\n#{@scottys[0].log}"
    assert_equal [dave['id']], rows("SELECT account_id FROM statuses WHERE uri = #{q(note)}").flatten
    assert_equal 1, count('statuses', "reblog_of_id IS NOT NULL AND account_id = #{BOB}"), 'the boost'
    assert_empty queued('ruby'), 'nothing forwarded'
  end

  def test_unknown_mention_resolved_in_the_create
    doc = publish(:mastodon, 'erin')
    start_accounts_scotty
    note = "#{BOB_URI}/statuses/77"
    body = JSON.generate('@context' => ActorShapes::AS, 'id' => "#{note}/activity", 'type' => 'Create',
                         'actor' => BOB_URI, 'to' => [PUBLIC], 'cc' => ["#{BOB_URI}/followers"],
                         'object' => { 'id' => note, 'type' => 'Note', 'attributedTo' => BOB_URI,
                                       'content' => '<p>hi @erin</p>', 'published' => '2026-01-01T10:00:00Z',
                                       'to' => [PUBLIC], 'cc' => ["#{BOB_URI}/followers", doc['id']],
                                       'tag' => [{ 'type' => 'Mention', 'href' => doc['id'], 'name' => "@erin@#{H}" }] })
    deliver(body)
    wait_queues_idle('ingress')
    erin = account(doc['id'])
    refute_nil erin, @scottys[0].log
    assert_equal [[erin['id'], 'f']],
                 rows("SELECT m.account_id, m.silent FROM mentions m JOIN statuses s ON s.id = m.status_id " \
                      "WHERE s.uri = #{q(note)}")
    assert_empty job_args('pull', 'MentionResolveWorker'), 'resolved in the job, not later'
    # bob was never fully fetched (last_webfingered_at NULL): the Create schedules his refresh
    refresh = scheduled('AccountRefreshWorker')
    assert_equal [[BOB]], refresh.map { |j| j['args'] }
    assert_equal [3, false], [refresh[0]['retry'], refresh[0]['dead']], "Mastodon's class options: retry 3, dead: false"
    assert_operator refresh[0]['at'].to_f, :<=, Time.now.to_f + 6 * 3600, 'within REFRESH_DEADLINE'
  end

  def test_account_update_and_refresh_jobs
    doc = publish(:pleroma, 'fay')
    start_accounts_scotty
    resolve("fay@#{H}")
    fay = account(doc['id'])
    refute_nil fay, @scottys[0].log
    id = fay['id'].to_i
    # Update{Person} from fay herself changes the profile; no WebFinger for an unchanged handle
    updated = doc.merge('name' => 'Fay Renamed', 'summary' => 'new bio', 'manuallyApprovesFollowers' => true)
    updated.delete('@context')
    deliver(JSON.generate('@context' => ActorShapes::AS, 'id' => "#{doc['id']}#updates/1", 'type' => 'Update',
                          'actor' => doc['id'], 'to' => [PUBLIC], 'object' => updated), actor: id)
    wait_queues_idle('ingress')
    assert_equal ['Fay Renamed', 'new bio', true], account(doc['id']).values_at('display_name', 'note', 'locked'),
                 @scottys[0].log
    assert_empty queued('ruby'), 'an account Update is not forwarded'
    # an Update of another actor is refused
    deliver(JSON.generate('@context' => ActorShapes::AS, 'id' => "#{doc['id']}#updates/2", 'type' => 'Update',
                          'actor' => doc['id'], 'object' => updated.merge('id' => BOB_URI, 'name' => 'Evil')), actor: id)
    wait_queues_idle('ingress')
    assert_equal 'Fay Renamed', account(doc['id'])['display_name']

    # AccountRefreshWorker: a fresh account is left alone; a week-old one is fetched again
    ActorShapes.write(@shapes_root, H, 'users/fay.json', JSON.generate(doc.merge('name' => 'Fay Again')))
    push('AccountRefreshWorker', [id, {}])
    wait_queues_idle('acct')
    assert_equal 'Fay Renamed', account(doc['id'])['display_name'], 'not due: needs_background_refresh? false'
    psql("UPDATE accounts SET last_webfingered_at = now() - interval '8 days' WHERE id = #{id}")
    push('AccountRefreshWorker', [id, { 'request_id' => 'r1' }])
    wait_queues_idle('acct')
    assert_equal 'Fay Again', account(doc['id'])['display_name'], @scottys[0].log
    assert_equal 1, count('accounts', "domain = #{q(H)}")
  end
  # kt-paperclip's id_partition: 9 (12 from 1e9) digits, groups of three.
  def partition(id)
    format(id < 1_000_000_000 ? '%09d' : '%012d', id).scan(/\d{3}/).join('/')
  end

  def media(path, *args)
    file = File.join(@shapes_root, H, path)
    FileUtils.mkdir_p(File.dirname(file))
    _o, err, st = Open3.capture3('ffmpeg', '-nostdin', '-loglevel', 'error', '-y', *args, file)
    raise "ffmpeg: #{err}" unless st.success?

    "#{base}/#{path}"
  end

  # A PNG whose header claims 30000x30000 pixels (900 Mpx) over a few bytes of data.
  def png_bomb(path)
    chunk = ->(t, d) { [d.bytesize].pack('N') + t + d + [Zlib.crc32(t + d)].pack('N') }
    png = "\x89PNG\r\n\x1a\n".b + chunk.call('IHDR', [30_000, 30_000, 8, 2, 0, 0, 0].pack('NNCCCCC')) +
          chunk.call('IDAT', Zlib::Deflate.deflate("\0" * 100_000)) + chunk.call('IEND', '')
    ActorShapes.write(@shapes_root, H, path, png)
    "#{base}/#{path}"
  end

  def dims(file)
    out, _e, _s = Open3.capture3('ffprobe', '-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0',
                                 file)
    out.lines.first.to_s.strip
  end

  def test_avatars_and_headers_stored_with_mastodons_styles_and_keys
    png = media('media/carol.png', '-f', 'lavfi', '-i', 'color=c=red:s=640x480', '-frames:v', '1')
    jpg = media('media/carol-h.jpg', '-f', 'lavfi', '-i', 'testsrc=s=4000x3000', '-frames:v', '1')
    gif = media('media/anim.gif', '-f', 'lavfi', '-i', 'testsrc=s=320x240:r=5', '-t', '1')
    carol = publish(:mastodon, 'carol')
    anim = publish(:mastodon, 'anim') do |d|
      d['icon']['url'] = gif
      d['image'] = nil
    end
    bomb = publish(:mastodon, 'bomb') do |d|
      d['icon']['url'] = png_bomb('media/bomb.png')
      d['image']['url'] = "#{base}/media/text.png"
    end
    ActorShapes.write(@shapes_root, H, 'media/text.png', 'this is not an image')
    assert_equal [png, jpg], [carol['icon']['url'], carol['image']['url']]
    start_scotty('-c', '2', '-q', 'acct', '-q', 'pull', '--forward-unhandled', 'ruby', '--forward-unknown', 'ruby',
                 env: db_env.merge(wf_env))
    %w[carol anim bomb].each { |n| push('ResolveAccountWorker', ["#{n}@#{H}"]) }
    wait_queues_idle('acct', 'pull')
    log = @scottys[0].log
    root = File.join(@tmp, 'system')
    # carol: original 400x400# (Account::Avatar), PNG kept as PNG; header at most 750,000 px
    c = rows("SELECT id, avatar_file_name, avatar_content_type, avatar_storage_schema_version, header_file_name, " \
             "header_content_type, header_storage_schema_version FROM accounts WHERE uri = #{q(carol['id'])}")[0]
    refute_nil c, log
    id = c[0].to_i
    assert_match(/\A\h{16}\.png\z/, c[1], log)
    assert_equal ['image/png', '1', 'image/jpeg', '1'], [c[2], c[3], c[5], c[6]]
    avatar = File.join(root, 'cache/accounts/avatars', partition(id), 'original', c[1])
    header = File.join(root, 'cache/accounts/headers', partition(id), 'original', c[4])
    assert File.file?(avatar), "avatar at Mastodon's key\n#{Dir.glob("#{root}/**/*").join("\n")}"
    assert_equal '400,400', dims(avatar)
    assert_equal '1000,750', dims(header), '4000x3000 fitted to HEADER_MAX_PIXELS 750,000'
    refute File.exist?(File.join(root, 'cache/accounts/avatars', partition(id), 'static')), 'static only for GIFs'
    # anim: a GIF keeps its animation and gets a static PNG of 400x400
    a = rows("SELECT id, avatar_file_name, avatar_content_type FROM accounts WHERE uri = #{q(anim['id'])}")[0]
    assert_equal 'image/gif', a[2], log
    base_name = a[1].sub(/\.gif\z/, '')
    static = File.join(root, 'cache/accounts/avatars', partition(a[0].to_i), 'static', "#{base_name}.png")
    assert_equal '400,400', dims(static)
    # bomb: a declared 900 Mpx avatar and a header that is not an image: nothing stored
    b = rows("SELECT avatar_file_name, header_file_name, avatar_remote_url FROM accounts WHERE uri = #{q(bomb['id'])}")[0]
    assert_equal ['', '', "#{base}/media/bomb.png"], b, 'the URL stays, no file'
    assert_match(/avatar .*bomb.png of account \d+ is not an image scotty keeps/, log)
    assert_match(/header .*text.png of account \d+ is not an image scotty keeps/, log)
    assert_empty retries.select { |j| j['class'].start_with?('Redownload') }, 'Mastodon gives up on bad images'

    # a new avatar URL on refresh: the new file replaces the old one, whose object goes
    png2 = media('media/carol2.png', '-f', 'lavfi', '-i', 'color=c=blue:s=500x500', '-frames:v', '1')
    carol['icon']['url'] = png2
    ActorShapes.write(@shapes_root, H, 'users/carol.json', JSON.generate(carol))
    psql("UPDATE accounts SET last_webfingered_at = now() - interval '8 days' WHERE id = #{id}")
    push('AccountRefreshWorker', [id, {}])
    wait_queues_idle('acct', 'pull')
    now = rows("SELECT avatar_file_name, avatar_remote_url FROM accounts WHERE id = #{id}")[0]
    assert_equal png2, now[1], @scottys[0].log
    refute_equal c[1], now[0]
    refute File.exist?(avatar), 'the replaced avatar is deleted, as Paperclip does'
    assert File.file?(File.join(root, 'cache/accounts/avatars', partition(id), 'original', now[0]))
  end
  # ProcessAccountService#process_tags: the profile's Emoji tags become custom_emojis rows
  # of the account's domain, with both styles stored; a reject_media domain's are not fetched.
  def test_profile_emoji_stored_through_the_resolve_path
    psql('TRUNCATE custom_emojis')
    png = media('emoji/tea.png', '-f', 'lavfi', '-i', 'testsrc2=s=32x32', '-frames:v', '1')
    gif = media('emoji/cup.gif', '-f', 'lavfi', '-i', 'testsrc2=s=24x24:r=5', '-t', '1')
    carol = publish(:mastodon, 'carol') do |d|
      d['tag'] = [{ 'id' => "#{base}/emojis/tea", 'type' => 'Emoji', 'name' => ':tea:', 'updated' => '2026-01-01T00:00:00Z',
                    'icon' => { 'type' => 'Image', 'mediaType' => 'image/png', 'url' => png } },
                  { 'type' => 'Emoji', 'name' => ':cup_:', 'icon' => { 'type' => 'Image', 'url' => gif } },
                  { 'type' => 'Emoji', 'name' => ':no good:', 'icon' => { 'url' => png } }]
    end
    publish(:mastodon, 'dave', host: HOSTS[1]) do |d|
      d['tag'] = [{ 'type' => 'Emoji', 'name' => ':tea:', 'icon' => { 'url' => png } }]
    end
    psql("INSERT INTO domain_blocks (domain, severity, reject_media, created_at, updated_at) " \
         "VALUES (#{q(HOSTS[1])}, 2, true, now(), now())")
    start_accounts_scotty
    resolve("carol@#{H}")
    resolve("dave@#{HOSTS[1]}")
    log = @scottys[0].log
    refute_nil account(carol['id']), log
    e = rows('SELECT id, shortcode, domain, coalesce(uri, \'\'), image_remote_url, image_file_name, ' \
             'image_content_type, image_storage_schema_version FROM custom_emojis ORDER BY shortcode')
    assert_equal [['cup_', H, '', gif, 'image/gif', '1'], ['tea', H, "#{base}/emojis/tea", png, 'image/png', '1']],
                 e.map { |r| r[1..4] + r[6..7] }, log
    e.each do |id, _code, _d, _u, _url, file|
      dir = File.join(@tmp, 'system', 'cache', 'custom_emojis', 'images', partition(id.to_i))
      assert File.file?(File.join(dir, 'original', file)), "original of #{file}"
      assert File.file?(File.join(dir, 'static', file.sub(/\.\w+\z/, '.png'))), "static of #{file}"
    end
    assert_match(/shortcode "no good" breaks Mastodon's rule/, log)
    refute_nil account("#{base(HOSTS[1])}/users/dave"), log
    assert_equal 0, count('custom_emojis', "domain = #{q(HOSTS[1])}"), 'reject_media: no row, no download'
  end
end
