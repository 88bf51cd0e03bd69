# test_delivery.rb -- ActivityPub::DeliveryWorker against a real inbox: signatures
# and Digest verified by the inbox, Collection-Synchronization as Mastodon computes
# it, Mastodon's retry/give-up rules, the failure tracker's Redis keys and
# unavailable_domains rows, and the worker starting without a database.
require_relative 'delivery_helper'

class TestDelivery < DeliveryTest
  def test_signed_delivery_with_collection_synchronization
    bob = inbox_url('127.0.0.1', '/users/bob')
    psql("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) VALUES " \
         "(2, 'bob', '127.0.0.1', #{q(bob)}, now(), now()), " \
         "(3, 'carol', 'other.example', 'https://other.example/users/carol', now(), now()), " \
         "(4, 'dave', '127.0.0.1', 'http://127.0.0.1:1/users/dave', now(), now())")
    psql('INSERT INTO follows (account_id, target_account_id, created_at, updated_at) VALUES ' \
         '(2, 1, now(), now()), (3, 1, now(), now()), (4, 1, now(), now())')
    @redis.sadd('exhausted_deliveries:127.0.0.1', '20200101')
    start_delivery_scotty
    body = '{"type":"Create","id":"https://scotty.test/1","object":{"content":"héllo"}}'
    deliver(inbox_url('127.0.0.1', '/inbox'), { 'synchronize_followers' => true }, body: body)
    deliver(inbox_url('127.0.0.1', '/users/x/inbox'), {}, klass: 'ActivityPub::LowPriorityDeliveryWorker',
                                                          queue: 'pull')
    wait_until(20, "two deliveries at the inbox\n#{@scottys[0].log}") { received.size == 2 }
    wait_idle
    first = received.find { |r| r['path'] == '/inbox' }
    assert first, 'the DeliveryWorker job reached the inbox'
    assert_nil first['sig_error'], "the inbox verified the signature and Digest: #{first['sig_error']}"
    assert_equal body, first['body'], 'the body arrives byte for byte'
    assert_equal 'application/activity+json', first['headers']['content-type']
    assert_match(/keyId="#{Regexp.escape(@key_id)}"/, first['headers']['signature'])
    assert_match(/headers="[^"]*collection-synchronization[^"]*digest/, first['headers']['signature'],
                 'Collection-Synchronization is signed, before Digest')
    digest = Digest::SHA256.digest(bob).unpack1('H*') # only followers on the inbox's scheme://host:port
    assert_equal "collectionId=\"#{@actor}/followers\", digest=\"#{digest}\", " \
                 "url=\"#{@actor}/followers_synchronization\"",
                 first['headers']['collection-synchronization']
    second = received.find { |r| r['path'] == '/users/x/inbox' }
    assert_nil second['sig_error'], 'the LowPriorityDeliveryWorker job is signed too'
    assert_nil second['headers']['collection-synchronization'], 'no sync header unless asked'
    assert_empty retries, 'nothing to retry'
    refute @redis.exists?('exhausted_deliveries:127.0.0.1'), 'a success resets the failure tracker'
  end

  def test_outcomes_give_up_or_retry_like_mastodon
    start_delivery_scotty
    cases = { '127.0.0.2' => '/s/410/inbox', '127.0.0.3' => '/s/404/inbox', '127.0.0.4' => '/s/429/inbox',
              '127.0.0.5' => '/s/500/inbox', '127.0.0.6' => '/reset/inbox', '127.0.0.7' => '/s/401/inbox',
              '127.0.0.8' => '/s/501/inbox' }
    jids = cases.to_h { |addr, path| [addr, deliver(inbox_url(addr, path))] }
    # the 401 is knocked on twice: draft-cavage, then RFC 9421
    wait_until(20, "#{cases.size + 1} requests at the inbox") { received.size == cases.size + 1 }
    wait_idle
    # Five eleventh failures (retry_count 9 -> 10): DeliveryWorker's own rand(0.5 * 10^4)
    # spreads them over 5,000 s beyond Sidekiq's default of 10,015 s plus at most 109 s
    # of jitter; all five landing in that default's range has odds of about 5e-9. One
    # at a time: a host that just failed gets one delivery in flight.
    late = Array.new(5) do |i|
      jid = Sidekiq::Client.push('class' => 'ActivityPub::DeliveryWorker', 'queue' => 'push',
                                 'args' => ['{"type":"Create"}', 1, inbox_url('127.0.0.9', '/s/500/inbox'), {}],
                                 'retry_count' => 9, 'failed_at' => Time.now.to_f - 3600)
      wait_until(20, "late failure #{i + 1} in the retry set") { retries.any? { |j, _| j['jid'] == jid } }
      jid
    end
    assert_equal cases.size + 6, received.size, 'each late failure was a request'
    wait_idle
    assert(received.all? { |r| r['sig_error'].nil? }, 'every request was signed correctly')
    in_retry = retries.to_h { |j, score| [j['jid'], [j, score]] }
    %w[127.0.0.2 127.0.0.3 127.0.0.8].each do |addr|
      refute in_retry[jids[addr]], "#{cases[addr]} is given up without a retry"
      refute @redis.exists?("exhausted_deliveries:#{addr}"), "#{cases[addr]} is not a tracked failure"
    end
    %w[127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7].each do |addr|
      job, score = in_retry[jids[addr]]
      assert job, "#{cases[addr]} is retried"
      assert_equal 0, job['retry_count']
      assert_includes Backoff.delivery(0, 8), Backoff.delay_of(job, score), 'count 0: 15 s plus jitter'
      assert_equal [today], @redis.smembers("exhausted_deliveries:#{addr}"), 'failure tracked for today'
    end
    delays = late.map do |jid|
      job, score = in_retry[jid]
      assert_equal 10, job['retry_count']
      Backoff.delay_of(job, score).tap { |d| assert_includes Backoff.delivery(10, 8), d, 'DeliveryWorker at count 10' }
    end
    assert_operator delays.max, :>, Backoff.sidekiq_default(10, 8).max,
                    "DeliveryWorker's own jitter, not only Sidekiq's default: #{delays}"
    assert_match(/UnexpectedResponseError/, in_retry[jids['127.0.0.5']][0]['error_class'])
    assert_match(/ConnectionError/, in_retry[jids['127.0.0.6']][0]['error_class'])
  end

  def test_double_knock_with_rfc9421_after_401
    start_delivery_scotty
    jid = deliver(inbox_url('127.0.0.2', '/knock/inbox'), { 'synchronize_followers' => true })
    wait_until(20, "two knocks\n#{@scottys[0].log}") { received.size == 2 }
    wait_idle
    first, second = received
    assert_nil first['sig_error'], 'the first knock carries a valid draft-cavage signature'
    refute first['rfc9421']
    assert second['rfc9421'], 'the second knock is signed the RFC 9421 way'
    assert_nil second['sig_error'], "the inbox verified the RFC 9421 signature: #{second['sig_error']}"
    assert_match(/keyid="#{Regexp.escape(@key_id)}"/, second['headers']['signature-input'])
    assert_equal first['body'], second['body']
    assert second['headers']['collection-synchronization'], 'the sync header is sent again'
    refute(retries.any? { |j, _| j['jid'] == jid }, 'accepted on the second knock: not retried')
  end

  def test_unavailable_domains_skip_bypass_and_seven_days
    psql("INSERT INTO unavailable_domains (domain, created_at, updated_at) VALUES ('127.0.0.2', now(), now())")
    @redis.sadd('exhausted_deliveries:127.0.0.3', (1..6).map { |d| format('202001%02d', d) })
    start_delivery_scotty
    deliver(inbox_url('127.0.0.2', '/skipped'))
    wait_idle('the skipped delivery')
    assert_empty received, 'no request to an unavailable domain'
    assert_empty retries, 'a skipped delivery is not a failure'

    deliver(inbox_url('127.0.0.2', '/bypass'), { 'bypass_availability' => true })
    deliver(inbox_url('127.0.0.3', '/s/503/inbox'))
    wait_until(20, 'two requests at the inbox') { received.size == 2 }
    wait_idle
    assert_equal ['/bypass', '/s/503/inbox'], received.map { |r| r['path'] }.sort
    assert_equal '', psql("SELECT domain FROM unavailable_domains WHERE domain = '127.0.0.2'").strip,
                 'a successful bypassing delivery makes the domain available again'
    assert_equal 7, @redis.scard('exhausted_deliveries:127.0.0.3'), 'the 7th failure day is recorded'
    assert_equal '127.0.0.3', psql("SELECT domain FROM unavailable_domains WHERE domain = '127.0.0.3'").strip,
                 'seven distinct failure days mark the domain unavailable'
  end

  def test_without_a_database_deliveries_fail_and_diag_jobs_run
    s = start_scotty('-c', '2', '-q', 'push', '-q', 'default',
                     env: { 'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8', 'DATABASE_URL' => nil,
                            'DB_HOST' => nil, 'DB_NAME' => nil, 'DB_PORT' => nil, 'DB_USER' => nil })
    push_marks('marks', 2)
    deliver(inbox_url('127.0.0.1', '/inbox'))
    wait_until(20, "the delivery to fail\n#{s.log}") { retries.size == 1 }
    wait_until(10, 'the diag jobs') { @redis.llen('marks') == 2 }
    job, = retries.first
    assert_equal 'Scotty::NotConfigured', job['error_class']
    assert_match(/DATABASE_URL/, job['error_message'], 'the error says what to set')
    assert_empty received
  end
end
