# test_ingress_prepared.rb -- Create{Note} with PREPARED_STATEMENTS true (Mastodon's
# default: named prepared statements, prepared once per connection) and false (what
# PgBouncer in transaction mode needs: unnamed statements only) writes the same rows,
# for a post with attachments (a pipelined batch, then statements of their own) and a
# text post in the same conversation (one batch, BEGIN to COMMIT).
# pg_prepared_statements lists only the asking session's statements, so which kind
# scotty's sessions used is read from the server log (log_statement = 'all' logs
# "execute <name>:" or "execute <unnamed>:" for every statement of the extended protocol).
require_relative 'ingress_helper'

class IngressPreparedTest < IngressTest
  def setup
    super
    psql("ALTER DATABASE #{ENV.fetch('DB_NAME')} SET log_statement = 'all'")
  end

  def teardown
    psql("ALTER DATABASE #{ENV.fetch('DB_NAME')} RESET log_statement")
    super
  end

  def server_log
    File.binread(File.join(ENV.fetch('PG_DIR'), 'log'))
  end

  TEXT_URI = "#{NOTE_URI}0".freeze

  # The fixture's note without its attachments, under another URI.
  def text_note
    fixture_with('create_note_mastodon') do |d|
      d['id'] = "#{TEXT_URI}/activity"
      d['object']['id'] = TEXT_URI
      d['object']['attachment'] = []
    end
  end

  # What the post wrote, without ids and times (they differ per run by design).
  def written(uri = NOTE_URI)
    row = status_row(uri)
    refute_nil row, "no status #{uri} written; log:\n#{@scotty.log}"
    id = row[0]
    {
      'status' => row.values_at(1..9, 11, 12) + [row[13].split(',').size],
      'conversation' => rows("SELECT c.uri FROM conversations c JOIN statuses s ON s.conversation_id = c.id " \
                             "WHERE s.id = #{id}"),
      'media' => rows("SELECT remote_url, description, blurhash, file_meta::text, type, processing " \
                      "FROM media_attachments WHERE status_id = #{id} ORDER BY remote_url"),
      'mentions' => rows("SELECT account_id, silent FROM mentions WHERE status_id = #{id} ORDER BY account_id"),
      'tags' => rows("SELECT t.name, t.display_name FROM tags t JOIN statuses_tags st ON st.tag_id = t.id " \
                     "WHERE st.status_id = #{id} ORDER BY t.name"),
      'stats' => rows("SELECT untrusted_favourites_count, untrusted_reblogs_count, replies_count " \
                      "FROM status_stats WHERE status_id = #{id}"),
      'parent_replies' => rows("SELECT replies_count FROM status_stats WHERE status_id = #{@parent}"),
      'account_stats' => rows("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}")
    }
  end

  # Delivers the fixture note with PREPARED_STATEMENTS=value; returns what it wrote and
  # the server log lines of that run.
  def ingest(value)
    @parent = add_alice_status
    log_from = server_log.bytesize
    @scotty = start_ingress_scotty(env: { 'PREPARED_STATEMENTS' => value })
    deliver_and_wait(fixture('create_note_mastodon'))
    deliver_and_wait(text_note)
    rows_written = [written, written(TEXT_URI)]
    @scotty.stop
    [rows_written, server_log.byteslice(log_from..).lines]
  end

  def test_prepared_and_unnamed_statements_write_the_same_rows
    named, named_log = ingest('true')
    TABLES.each { |t| psql("TRUNCATE #{t} CASCADE") }
    psql("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) " \
         "VALUES (#{ALICE}, 'alice', NULL, '', now(), now())")
    add_remote(BOB, 'bob', followed_by: ALICE)
    unnamed, unnamed_log = ingest('false')

    # the fixture's rows (test_ingress_create checks each against Mastodon's)
    media, text = named
    conversation = [['tag:remote.example,2026-11-24:objectId=4242:objectType=Conversation']]
    assert_equal conversation, media['conversation']
    assert_equal conversation, text['conversation'], 'the text post joins the conversation the first created'
    assert_equal 2, media['media'].size
    assert_empty text['media']
    [media, text].each do |w|
      assert_equal [[ALICE.to_s, 'f']], w['mentions']
      assert_equal [%w[harbour Harbour], %w[photography photography]], w['tags']
      assert_equal [['2']], w['parent_replies']
      assert_equal [['2']], w['account_stats']
    end
    assert_equal named, unnamed

    executes = ->(log) { log.grep(/execute [^:]+:/).map { |l| l[/execute ([^:]+):/, 1] } }
    assert_includes executes.call(named_log), 'ingress_status_prelude', 'PREPARED_STATEMENTS=true runs named statements'
    assert(executes.call(named_log).any? { |n| n.start_with?('ingress_status_insert_') },
           'the statuses insert is named too, by its parts')
    refute_empty executes.call(unnamed_log)
    assert_equal ['<unnamed>'], executes.call(unnamed_log).uniq, 'PREPARED_STATEMENTS=false names no statement'
  end
end
