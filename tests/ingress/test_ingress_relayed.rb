# frozen_string_literal: true

# test_ingress_relayed.rb -- activities relayed by their signer for another actor and
# vouched for by an FEP-8b32 proof (eddsa-jcs-2022), as ProcessActivityService and
# ActivityPub::ObjectIntegrityProof take them: a valid proof by the actor's stored
# Ed25519 key makes the activity the actor's; a forged, revoked or borrowed one drops
# it with nothing written; one whose relevance depends on the relaying actor is left to
# Ruby. The proofs are made here with Ruby's OpenSSL over an RFC 8785 form of the
# documents written below.
require 'digest'
require 'openssl'
require_relative 'ingress_helper'

class IngressRelayedTest < IngressTest
  CAROL = 9
  CAROL_URI = 'https://other.example/users/carol'
  CAROL_KEY = "#{CAROL_URI}#ed25519-key".freeze

  def setup
    super
    psql('TRUNCATE keypairs')
    add_remote(CAROL, 'carol', host: 'other.example')
    @carol_key = add_ed25519_key(CAROL, CAROL_KEY)
    add_alice_status
  end

  def add_ed25519_key(account_id, uri, revoked: false)
    key = OpenSSL::PKey.generate_key('ED25519')
    psql("INSERT INTO keypairs (account_id, type, public_key, uri, revoked, created_at, updated_at) VALUES " \
         "(#{account_id}, 1, #{q(key.public_to_pem)}, #{q(uri)}, #{revoked}, now(), now())")
    key
  end

  # RFC 8785 for these documents (no floats): keys sorted by UTF-16 code units.
  def jcs(value)
    case value
    when Hash
      keys = value.keys.sort_by { |k| k.encode('UTF-16BE').unpack('n*') }
      "{#{keys.map { |k| "#{JSON.generate(k)}:#{jcs(value[k])}" }.join(',')}}"
    when Array then "[#{value.map { |e| jcs(e) }.join(',')}]"
    else JSON.generate(value)
    end
  end

  # doc with an eddsa-jcs-2022 proof by key (verificationMethod key_id).
  def prove(doc, key, key_id)
    options = { '@context' => doc['@context'], 'type' => 'DataIntegrityProof', 'cryptosuite' => 'eddsa-jcs-2022',
                'verificationMethod' => key_id, 'proofPurpose' => 'assertionMethod',
                'created' => '2026-12-01T10:00:00Z' }
    message = Digest::SHA256.digest(jcs(options)) + Digest::SHA256.digest(jcs(doc))
    doc.merge('proof' => options.merge('proofValue' => multibase58(key.sign(nil, message))))
  end

  # carol's reply to alice's status (relevant here: it replies to a local account),
  # relayed with bob's HTTP signature.
  def carol_reply(n = 1)
    doc = JSON.parse(fixture('create_note_mastodon'))
    doc['id'] = "#{CAROL_URI}/statuses/#{n}/activity"
    doc['actor'] = CAROL_URI
    doc['object'].merge!('id' => "#{CAROL_URI}/statuses/#{n}", 'url' => "https://other.example/@carol/#{n}",
                         'attributedTo' => CAROL_URI, 'atomUri' => "#{CAROL_URI}/statuses/#{n}")
    doc['object'].delete('attachment')
    doc
  end

  def status_account(uri)
    rows("SELECT account_id FROM statuses WHERE uri = #{q(uri)}").flatten.first
  end

  def test_valid_proof_makes_the_activity_the_actors
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(JSON.generate(prove(carol_reply, @carol_key, CAROL_KEY)))
    assert_equal CAROL.to_s, status_account("#{CAROL_URI}/statuses/1"), scotty.log
    assert_equal 1, activity_stats.dig('Create', 'handled')
    assert_empty @redis.lrange('queue:ruby_ingress', 0, -1)
  end

  # A proof over other bytes, by a revoked key, or by a key of another account: Mastodon
  # finds no actor and drops the activity.
  def test_forged_revoked_and_borrowed_proofs_write_nothing
    tampered = prove(carol_reply(2), @carol_key, CAROL_KEY)
    tampered['object']['content'] = '<p>not what was signed</p>'
    revoked_id = "#{CAROL_URI}#old-key"
    revoked = prove(carol_reply(3), add_ed25519_key(CAROL, revoked_id, revoked: true), revoked_id)
    bob_id = 'https://remote.example/users/bob#ed25519-key'
    borrowed = prove(carol_reply(4), add_ed25519_key(BOB, bob_id), bob_id)
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    [tampered, revoked, borrowed].each { |d| deliver(JSON.generate(d)) }
    wait_idle
    assert_equal 0, count('statuses', "account_id = #{CAROL}"), scotty.log
    assert_empty @redis.lrange('queue:ruby_ingress', 0, -1)
    assert_empty retries
    assert_equal 3, activity_stats.dig('Create', 'dropped')
    assert_match(/its eddsa-jcs-2022 proof does not verify/, scotty.log)
    assert_match(/its proof's key #{Regexp.escape(revoked_id)} is revoked or expired/, scotty.log)
    assert_match(/its proof's key belongs to #{Regexp.escape(BOB_URI)}, not to the actor/, scotty.log)
  end

  # Mastodon also lets a relayed status in when the relaying actor is followed here or
  # is an enabled relay; scotty does not ask that, so it leaves the decision to Ruby.
  def test_status_relevant_only_through_its_relayer_is_left_to_ruby
    post = carol_reply(5)
    post['object'].delete('inReplyTo')
    post['object'].delete('inReplyToAtomUri')
    post['object']['tag'] = []
    post['object']['cc'] = []
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(JSON.generate(prove(post, @carol_key, CAROL_KEY)))
    assert_equal 1, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_equal 0, count('statuses', "account_id = #{CAROL}")
    assert_match(/not relevant here unless for its relaying actor/, scotty.log)
  end
end
