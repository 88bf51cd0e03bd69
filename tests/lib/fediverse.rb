# frozen_string_literal: true

# fediverse.rb -- a small remote fediverse for the demo and the ingress benchmark: remote
# accounts in Mastodon's tables (through psql), their actor documents and media in an
# origin.rb root, and Create{Note} activities shaped the way Mastodon sends them,
# pushed as ActivityPub::ProcessingWorker jobs the way its inbox controller does.
require 'fileutils'
require 'json'
require 'open3'
require 'securerandom'
require 'sidekiq'
require_relative 'pg'

module Fediverse
  PUBLIC = 'https://www.w3.org/ns/activitystreams#Public'

  # Fediverse.psql and Fediverse.q: the test's PostgreSQL.
  extend Harness::PG

  # The local account remote posts are addressed to and whose follows make them relevant.
  def self.add_local_account(id, name)
    psql("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) " \
         "VALUES (#{id}, #{q(name)}, NULL, NULL, now(), now())")
    id
  end

  # One remote server: accounts, actor documents and media under root/<host>/.
  class Server
    attr_reader :base, :host

    def initialize(root, host, port)
      @root = root
      @host = host
      @base = "http://#{host}:#{port}"
      FileUtils.mkdir_p(File.join(root, host))
    end

    def actor_uri(name) = "#{@base}/users/#{name}"

    # Inserts the remote account (and a local follower, so its posts are relevant)
    # and writes its actor document. Returns the account id.
    def add_account(id, name, followed_by: nil)
      uri = actor_uri(name)
      Fediverse.psql(<<~SQL)
        INSERT INTO accounts (id, username, domain, uri, url, inbox_url, outbox_url,
                              shared_inbox_url, followers_url, protocol, created_at, updated_at)
        VALUES (#{id}, #{Fediverse.q(name)}, #{Fediverse.q(@host)}, #{Fediverse.q(uri)},
                #{Fediverse.q("#{@base}/@#{name}")}, #{Fediverse.q("#{uri}/inbox")},
                #{Fediverse.q("#{uri}/outbox")}, #{Fediverse.q("#{@base}/inbox")},
                #{Fediverse.q("#{uri}/followers")}, 1, now(), now());
      SQL
      if followed_by
        Fediverse.psql("INSERT INTO follows (account_id, target_account_id, created_at, updated_at) " \
                       "VALUES (#{followed_by}, #{id}, now(), now())")
      end
      write("users/#{name}.json", JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams',
                                                 'id' => uri, 'type' => 'Person',
                                                 'preferredUsername' => name, 'inbox' => "#{uri}/inbox",
                                                 'followers' => "#{uri}/followers"))
      id
    end

    def write(path, data)
      file = File.join(@root, @host, path)
      FileUtils.mkdir_p(File.dirname(file))
      File.binwrite(file, data)
      "#{@base}/#{path}"
    end

    # Makes a media file with the ffmpeg CLI and serves it; returns its URL.
    def ffmpeg_media(path, *args)
      file = File.join(@root, @host, path)
      FileUtils.mkdir_p(File.dirname(file))
      _out, err, st = Open3.capture3('ffmpeg', '-nostdin', '-loglevel', 'error', '-y', *args, file)
      raise "ffmpeg failed for #{path}: #{err}" unless st.success?

      "#{@base}/#{path}"
    end

    # A Create{Note} as Mastodon sends it; media: [[url, mediaType, description], ...].
    def create_note(name, n, text:, media: [], tags: [])
      actor = actor_uri(name)
      note = "#{actor}/statuses/#{n}"
      published = Time.now.utc.strftime('%Y-%m-%dT%H:%M:%SZ')
      object = {
        'id' => note, 'type' => 'Note', 'summary' => nil, 'inReplyTo' => nil,
        'published' => published, 'url' => "#{@base}/@#{name}/#{n}", 'attributedTo' => actor,
        'to' => [PUBLIC], 'cc' => ["#{actor}/followers"], 'sensitive' => false,
        'conversation' => "tag:#{@host},2026:objectId=#{n}:objectType=Conversation",
        'content' => "<p>#{text}</p>", 'contentMap' => { 'en' => "<p>#{text}</p>" },
        'attachment' => media.map do |url, type, desc|
          { 'type' => 'Document', 'mediaType' => type, 'url' => url, 'name' => desc }
        end,
        'tag' => tags.map { |t| { 'type' => 'Hashtag', 'href' => "#{@base}/tags/#{t}", 'name' => "##{t}" } }
      }
      { '@context' => ['https://www.w3.org/ns/activitystreams'], 'id' => "#{note}/activity",
        'type' => 'Create', 'actor' => actor, 'published' => published,
        'to' => [PUBLIC], 'cc' => ["#{actor}/followers"], 'object' => object }
    end
  end

  # The Sidekiq hash Mastodon's inbox controller pushes for a delivered activity.
  def self.processing_job(account_id, activity)
    { 'class' => 'ActivityPub::ProcessingWorker', 'queue' => 'ingress', 'retry' => 8,
      'backtrace' => true, 'args' => [account_id, JSON.generate(activity), nil, 'Account'] }
  end

  # Pushes activities in batches of 1,000 (push_bulk), as fast as Ruby's client can.
  def self.push_all(account_id, activities)
    push_from(activities.map { |a| [account_id, a] })
  end

  # The same for [sender account id, activity] pairs, in their order.
  def self.push_from(pairs)
    pairs.each_slice(1000) do |batch|
      job = processing_job(*batch.first)
      Sidekiq::Client.push_bulk(job.merge('args' => batch.map { |id, a| processing_job(id, a)['args'] }))
    end
  end
end
