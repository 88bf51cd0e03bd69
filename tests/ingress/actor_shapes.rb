# frozen_string_literal: true

# actor_shapes.rb -- remote actors as six server kinds publish them, for the account
# tests and the accounts benchmark: the actor document, its WebFinger answer and its
# collections, written into an origin.rb root (ROOT/<host>/...). The shapes follow what
# these servers send: Mastodon (Person, inline key, featured collections, fields),
# Misskey (opaque id path, _misskey_summary, isCat), Pleroma (capabilities, vcard),
# GoToSocial (key id outside the actor document, whose fetch answers with the whole
# actor), Lemmy (a Group community) and PeerTube (an icon array, a null summary).
require 'fileutils'
require 'json'
require 'openssl'

module ActorShapes
  AS = 'https://www.w3.org/ns/activitystreams'
  SEC = 'https://w3id.org/security/v1'
  KINDS = %i[mastodon misskey pleroma gotosocial lemmy peertube].freeze

  # One RSA key for every fixture actor (generating one per actor is slow).
  def self.pem
    @pem ||= OpenSSL::PKey::RSA.new(2048).public_key.to_pem
  end

  # The actor's id path on its host, per kind.
  def self.path(kind, name)
    case kind
    when :misskey then "users/9#{name.unpack1('H*')}"
    when :lemmy then "c/#{name}"
    when :peertube then "accounts/#{name}"
    else "users/#{name}"
    end
  end

  # The actor document (a Hash) for kind; base is "http://host:port".
  def self.actor(kind, base, name, display: name.capitalize)
    id = "#{base}/#{path(kind, name)}"
    key = { 'id' => "#{id}#main-key", 'owner' => id, 'publicKeyPem' => pem }
    common = { 'id' => id, 'inbox' => "#{id}/inbox", 'outbox' => "#{id}/outbox",
               'followers' => "#{id}/followers", 'following' => "#{id}/following",
               'preferredUsername' => name, 'name' => display }
    case kind
    when :mastodon
      common.merge(
        '@context' => [AS, SEC, { 'manuallyApprovesFollowers' => 'as:manuallyApprovesFollowers' }],
        'type' => 'Person', 'featured' => "#{id}/collections/featured",
        'featuredTags' => "#{id}/collections/tags", 'summary' => '<p>I write about tea.</p>',
        'url' => "#{base}/@#{name}", 'manuallyApprovesFollowers' => false, 'discoverable' => true,
        'indexable' => true, 'published' => '2023-04-01T00:00:00Z', 'memorial' => false,
        'publicKey' => key, 'tag' => [],
        'attachment' => [{ 'type' => 'PropertyValue', 'name' => 'Blog',
                           'value' => '<a href="https://blog.example/" rel="me">blog.example</a>' }],
        'endpoints' => { 'sharedInbox' => "#{base}/inbox" },
        'icon' => { 'type' => 'Image', 'mediaType' => 'image/png', 'url' => "#{base}/media/#{name}.png" },
        'image' => { 'type' => 'Image', 'mediaType' => 'image/jpeg', 'url' => "#{base}/media/#{name}-h.jpg" },
        'alsoKnownAs' => ["#{base}/users/old#{name}"], 'attributionDomains' => ['tea.example']
      )
    when :misskey
      common.merge(
        '@context' => [AS, SEC, { 'Key' => 'sec:Key', '_misskey_summary' => 'misskey:_misskey_summary' }],
        'type' => 'Person', 'summary' => '<p>nyaa</p>', '_misskey_summary' => 'nyaa', 'isCat' => true,
        'url' => "#{base}/@#{name}", 'manuallyApprovesFollowers' => true, 'discoverable' => false,
        'publicKey' => key.merge('type' => 'Key'), 'featured' => "#{id}/collections/featured",
        'endpoints' => { 'sharedInbox' => "#{base}/inbox" },
        'icon' => { 'type' => 'Image', 'url' => "#{base}/files/#{name}.webp", 'sensitive' => false, 'name' => nil },
        'image' => nil, 'tag' => [],
        'attachment' => [{ 'type' => 'PropertyValue', 'name' => 'Pronouns', 'value' => 'she/her' }]
      )
    when :pleroma
      common.merge(
        '@context' => [AS, "#{base}/schemas/litepub-0.1.jsonld", { '@language' => 'und' }],
        'type' => 'Person', 'summary' => 'pleroma user<br/>', 'url' => id,
        'manuallyApprovesFollowers' => false, 'discoverable' => true, 'capabilities' => { 'acceptsChatMessages' => true },
        'vcard:bday' => nil, 'publicKey' => key, 'featured' => "#{id}/collections/featured",
        'endpoints' => { 'sharedInbox' => "#{base}/inbox", 'oauthTokenEndpoint' => "#{base}/oauth/token" },
        'icon' => { 'type' => 'Image', 'url' => "#{base}/media/#{name}.jpg" }, 'attachment' => [], 'tag' => [],
        'alsoKnownAs' => []
      )
    when :gotosocial
      common.merge(
        '@context' => [AS, SEC, { 'discoverable' => 'toot:discoverable' }],
        'type' => 'Person', 'summary' => '<p>gts</p>', 'url' => "#{base}/@#{name}",
        'manuallyApprovesFollowers' => false, 'discoverable' => true, 'indexable' => false,
        'publicKey' => { 'id' => "#{id}/main-key", 'owner' => id, 'publicKeyPem' => pem },
        'featured' => "#{id}/collections/featured", 'published' => '2024-02-02T12:00:00Z',
        'icon' => { 'type' => 'Image', 'mediaType' => 'image/png', 'url' => "#{base}/fileserver/#{name}.png" },
        'attachment' => [{ 'type' => 'PropertyValue', 'name' => 'Home', 'value' => 'here' }], 'tag' => []
      )
    when :lemmy
      common.merge(
        '@context' => [AS, SEC, { 'lemmy' => 'https://join-lemmy.org/ns#' }],
        'type' => 'Group', 'summary' => '<p>a community</p>', 'source' => { 'content' => 'a community' },
        'sensitive' => false, 'attributedTo' => "#{id}/moderators", 'postingRestrictedToMods' => false,
        'publicKey' => key, 'endpoints' => { 'sharedInbox' => "#{base}/inbox" },
        'icon' => { 'type' => 'Image', 'url' => "#{base}/pictrs/#{name}.png" },
        'image' => { 'type' => 'Image', 'url' => "#{base}/pictrs/#{name}-banner.png" },
        'published' => '2022-06-01T08:30:00.123456Z'
      )
    when :peertube
      common.merge(
        '@context' => [AS, SEC, { 'RsaSignature2017' => 'https://w3id.org/security#RsaSignature2017' }],
        'type' => 'Person', 'summary' => nil, 'url' => id, 'playlists' => "#{id}/video-playlists",
        'publicKey' => key, 'endpoints' => { 'sharedInbox' => "#{base}/inbox" },
        'icon' => [{ 'type' => 'Image', 'mediaType' => 'image/png', 'height' => 48, 'width' => 48,
                     'url' => "#{base}/lazy-static/avatars/#{name}-48.png" },
                   { 'type' => 'Image', 'mediaType' => 'image/png', 'height' => 120, 'width' => 120,
                     'url' => "#{base}/lazy-static/avatars/#{name}-120.png" }],
        'published' => '2021-01-01T00:00:00.000Z'
      )
    end
  end

  # Writes the actor, its WebFinger answer and its collections under root/<host>/.
  # Returns the actor document. counts: [statuses, following, followers].
  def self.publish(root, kind, host, port, name, counts: [3, 2, 5], webfinger: {}, **kw)
    base = "http://#{host}:#{port}"
    doc = actor(kind, base, name, **kw)
    yield doc if block_given?
    write(root, host, "#{path(kind, name)}.json", doc)
    write(root, host, "#{path(kind, name)}/main-key.json", doc) if kind == :gotosocial
    %w[outbox following followers].zip(counts).each do |coll, n|
      write(root, host, "#{path(kind, name)}/#{coll}.json",
            '@context' => AS, 'id' => "#{doc['id']}/#{coll}", 'type' => 'OrderedCollection',
            'totalItems' => n, 'first' => "#{doc['id']}/#{coll}?page=true")
    end
    jrd = { 'subject' => "acct:#{name}@#{host}", 'aliases' => [doc['id']],
            'links' => [{ 'rel' => 'http://webfinger.net/rel/profile-page', 'type' => 'text/html', 'href' => doc['id'] },
                        { 'rel' => 'self', 'type' => 'application/activity+json', 'href' => doc['id'] }] }.merge(webfinger)
    write(root, host, ".well-known/webfinger/acct:#{name}@#{host}", jrd)
    doc
  end

  def self.write(root, host, path, doc)
    file = File.join(root, host, path)
    FileUtils.mkdir_p(File.dirname(file))
    File.write(file, doc.is_a?(String) ? doc : JSON.generate(doc))
  end
end
