# frozen_string_literal: true

# test_cards.rb -- LinkCrawlWorker end to end: real Redis, PostgreSQL with Mastodon's
# schema, scotty on `pull` with its media child, and the fixture web (card_origin.rb).
# Statuses are inserted the way ingress writes them and the job is pushed as Mastodon
# pushes it ([status_id] or [status_id, link_href]). Every expected value is what
# Mastodon's FetchLinkCardService / LinkDetailsExtractor / FetchOEmbedService /
# PreviewCard would store for the same page; the comment on each says which rule.
require_relative '../ingress/ingress_helper'
require 'open3'
require 'time'

class CardsTest < IngressTest
  CARDS_HERE = __dir__
  CARD_COLUMNS = %w[url title description type link_type width height html author_name author_url
                    provider_name provider_url embed_url language published_at image_description
                    image_file_name image_content_type image_file_size image_storage_schema_version
                    blurhash trendable max_score author_account_id unverified_author_account_id].freeze

  def setup
    super
    psql('TRUNCATE preview_cards, preview_cards_statuses, quotes CASCADE')
    @media_dir = File.join(@tmp ||= Dir.mktmpdir('scotty-cards'), 'media')
    FileUtils.mkdir_p(@media_dir)
    make_media
    start_card_origin
    @next_status = 114_000_000_000_000_000
  end

  def teardown
    @card_origin_stdin&.close
    Process.wait(@card_origin_pid) if @card_origin_pid
    super
  end

  def make_media
    {
      'lead.jpg' => %w[-f lavfi -i testsrc=size=1200x630:rate=1 -frames:v 1],
      'thumb.jpg' => %w[-f lavfi -i testsrc=size=480x360:rate=1 -frames:v 1],
      'anim.gif' => %w[-f lavfi -i testsrc=size=160x120:rate=5 -t 1]
    }.each do |name, args|
      out, st = Open3.capture2e('ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', *args,
                                File.join(@media_dir, name))
      raise "ffmpeg #{name}: #{out}" unless st.success?
    end
  end

  def start_card_origin
    @card_log = File.join(@tmp, 'card-origin.jsonl')
    out_r, out_w = IO.pipe
    in_r, @card_origin_stdin = IO.pipe
    @card_origin_pid = Process.spawn('ruby', File.join(CARDS_HERE, 'card_origin.rb'), '--media', @media_dir,
                                     '--log', @card_log, in: in_r, out: out_w,
                                     err: File.join(@tmp, 'card-origin.err'))
    in_r.close
    out_w.close
    line = Timeout.timeout(20) { out_r.gets }
    raise "card_origin.rb did not start: #{File.read(File.join(@tmp, 'card-origin.err'))}" unless line&.start_with?('READY')

    @port = line.split.last.to_i
  end

  def web(path)
    "http://127.0.0.1:#{@port}#{path}"
  end

  def hits(path)
    return 0 unless File.exist?(@card_log)

    File.readlines(@card_log).count { |l| JSON.parse(l)['path'] == path }
  end

  def requests
    File.exist?(@card_log) ? File.readlines(@card_log).map { |l| JSON.parse(l) } : []
  end

  def start_pull_scotty(*extra)
    start_scotty('-c', '2', '-q', 'pull', *extra,
                 env: db_env.merge('SCOTTY_HTTP_READ_TIMEOUT' => '2', 'SCOTTY_MEDIA_BIN' => ENV['SCOTTY_MEDIA_BIN'].to_s))
  end

  # A remote status by BOB with this HTML (as ingress stores it); returns its id.
  def status(html, account: BOB, local: false, id: nil)
    id ||= (@next_status += 1)
    uri = local ? "https://#{LOCAL_DOMAIN}/users/alice/statuses/#{id}" : "https://remote.example/users/bob/statuses/#{id}"
    psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at, local, visibility) " \
         "VALUES (#{id}, #{q(uri)}, #{account}, #{q(html)}, now(), now(), #{local}, 0)")
    id
  end

  def crawl(status_id, url = nil)
    Sidekiq::Client.push('class' => 'LinkCrawlWorker', 'queue' => 'pull', 'retry' => 0,
                         'args' => url ? [status_id, url] : [status_id])
  end

  def wait_pull(what = 'the LinkCrawlWorker jobs')
    wait_until(120, "#{what}\n#{@scottys.last&.log}") do
      @redis.llen('queue:pull').zero? && Sidekiq::Workers.new.size.zero? &&
        @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
  end

  # The card attached to the status: its columns, and preview_cards_statuses.url.
  def card_of(status_id)
    out = psql("SELECT json_build_object('card', row_to_json(c), 'link', p.url) FROM preview_cards_statuses p " \
               "JOIN preview_cards c ON c.id = p.preview_card_id WHERE p.status_id = #{status_id}").strip
    return nil if out.empty?

    doc = JSON.parse(out)
    doc['card'].merge('link' => doc['link'])
  end

  # The stored original style of card c: [prefix]cache/preview_cards/images/<id_partition>/original/<base>.<ext>
  def image_path(c, ext)
    part = format('%09d', c['id']).scan(/\d{3}/).join('/')
    base = c['image_file_name'].sub(/\.[a-z]+\z/, '')
    File.join(@tmp, 'system', 'cache', 'preview_cards', 'images', part, 'original', "#{base}.#{ext}")
  end

  def link(url, text = 'link')
    "<a href=\"#{url}\" rel=\"nofollow noopener\" target=\"_blank\">#{text}</a>"
  end

  def test_page_shapes
    start_pull_scotty
    news = status("<p>Read #{link(web('/news/harbour-reopens?utm_source=fedi'))}</p>")
    video = status("<p>#{link(web('/watch?v=sun1'))}</p>")
    notes = status("<p>#{link(web('/notes'))}</p>")
    sjis = status("<p>#{link(web('/sjis'))}</p>")
    latin = status("<p>#{link(web('/latin'))}</p>")
    essay = status("<p>#{link(web('/essay'))}</p>")
    photo = status("<p>#{link(web('/photo.jpg'))}</p>")
    chain = status("<p>#{link(web('/go/1'))}</p>")
    loop4 = status("<p>#{link(web('/loop/1'))}</p>")
    attachment = status("<p>#{link(web('/plain'))}</p>")
    gif = status("<p>#{link(web('/gif-page'))}</p>")
    xml_photo = status("<p>#{link(web('/photo-page'))}</p>")
    @redis.set("cache:statuses/#{news}", 'cached before the card')
    @redis.set("cache:statuses/#{photo}", 'no card, kept')
    [news, video, notes, sjis, latin, essay, photo, chain, loop4, gif, xml_photo].each { |id| crawl(id) }
    crawl(attachment, web('/page/7'))
    wait_pull

    # News article: JSON-LD headline/description/author/publisher/datePublished/inLanguage
    # win over OpenGraph (LinkDetailsExtractor#title etc. check structured_data first);
    # og:image is the image; the card is keyed by <link rel=canonical> (same host), the
    # status's link keeps the URL as written; NewsArticle -> link_type article (1);
    # published_at is the JSON-LD time in UTC; inLanguage en-GB is not a supported
    # locale, so its language part "en".
    c = card_of(news)
    refute_nil c, "no card for the news article\n#{@scottys.last.log}"
    assert_equal web('/news/harbour-reopens'), c['url']
    assert_equal web('/news/harbour-reopens?utm_source=fedi'), c['link']
    assert_equal 'Harbour reopens after storm', c['title']
    assert_equal 'The old harbour is open again & busy.', c['description']
    assert_equal [0, 1], [c['type'], c['link_type']]
    assert_equal ['Ann Writer', web('/staff/ann')], [c['author_name'], c['author_url']]
    assert_equal ['The Daily Harbour', ''], [c['provider_name'], c['provider_url']]
    assert_equal ['en', '2024-05-01T04:30:00'], [c['language'], c['published_at']]
    assert_equal ['', '', 'Boats at dawn'], [c['html'], c['embed_url'], c['image_description']]
    assert_nil c['trendable'], 'trendable stays NULL (PreviewCard#trendable? asks the provider)'
    assert_nil c['max_score']
    assert_nil c['author_account_id']
    # extract_dimensions: a link card's width/height are the stored image's; the
    # original style is 230,400 px (1200x630 -> 662x348); file name: 16 hex + .jpg
    # (the URL's extension, listed for image/jpeg); storage schema 1; a blurhash.
    assert_match(/\A\h{16}\.jpg\z/, c['image_file_name'])
    assert_equal ['image/jpeg', 1], [c['image_content_type'], c['image_storage_schema_version']]
    assert_operator c['width'] * c['height'], :<=, 230_400
    assert_in_delta 1200.0 / 630, c['width'].to_f / c['height'], 0.02
    refute_nil c['blurhash']
    key = image_path(c, 'jpg')
    assert File.file?(key), "no image at Mastodon's key #{key}"
    assert_equal c['image_file_size'], File.size(key)

    # attach_card's Rails.cache.delete(@status): the cached status goes (the API then
    # shows the card); a status that got no card keeps its entry.
    assert_nil @redis.get("cache:statuses/#{news}")
    assert_equal 'no card, kept', @redis.get("cache:statuses/#{photo}")

    # Trends.links.register: the news card is appropriate_for_trends? (link, article,
    # title, description, image, provider name) and the status public, its author not
    # silenced, without spoiler or sensitive flag: one use by BOB today, the card id in
    # today's used set. The other cards (no article, no image) are not registered.
    day = Time.now.utc.to_i / 86_400 * 86_400
    c = card_of(news)
    assert_equal '1', @redis.get("activity:links:#{c['id']}:#{day}")
    assert_equal 1, @redis.pfcount("activity:links:#{c['id']}:#{day}:accounts")
    assert_equal [c['id'].to_s], @redis.smembers("trending_links:used:#{day}")
    assert_operator @redis.ttl("activity:links:#{c['id']}:#{day}"), :>, 13 * 86_400

    # A GIF og:image: image_content_type stays image/gif and the name .gif, while the
    # stored original style is a JPEG (PreviewCard.image_styles: format 'jpg' for GIF),
    # image_file_size that file's (reset_file_if_original_reprocessed).
    c = card_of(gif)
    assert_equal ['image/gif', 160, 120], [c['image_content_type'], c['width'], c['height']]
    assert_match(/\A\h{16}\.gif\z/, c['image_file_name'])
    assert_equal File.binread(image_path(c, 'jpg'), 3).bytes, [0xFF, 0xD8, 0xFF]
    assert_equal c['image_file_size'], File.size(image_path(c, 'jpg'))

    # YouTube-like oEmbed video (attempt_oembed): type video, width/height from the
    # JSON, author/provider URLs resolved against the endpoint, html sanitized with
    # MASTODON_OEMBED (iframe with its allowed attributes + sandbox, script gone);
    # description and link_type are not assigned by oEmbed (defaults '' and NULL).
    c = card_of(video)
    refute_nil c, "no card for the video\n#{@scottys.last.log}"
    assert_equal web('/watch?v=sun1'), c['url']
    assert_equal [2, nil, 640, 360], [c['type'], c['link_type'], c['width'], c['height']]
    assert_equal ['Sunset timelapse', 'Sky Channel', web('/@sky')], [c['title'], c['author_name'], c['author_url']]
    assert_equal ['VideoTube', web('/')], [c['provider_name'], c['provider_url']]
    assert_equal '', c['description']
    assert_equal "<iframe width=\"640\" height=\"360\" src=\"#{web('/embed/sun1?feature=oembed')}\" frameborder=\"0\" " \
                 'allowfullscreen="" sandbox="allow-scripts allow-same-origin allow-popups ' \
                 'allow-popups-to-escape-sandbox allow-forms"></iframe>', c['html']
    assert_nil c['language']
    # the oEmbed thumbnail_url is the image; a video card keeps the oEmbed size
    # (extract_dimensions only runs for link cards)
    assert_match(/\A\h{16}\.jpg\z/, c['image_file_name'])
    assert File.file?(image_path(c, 'jpg'))
    assert_equal 1, hits('/media/thumb.jpg')
    assert_equal 1, hits('/oembed?url=' + "http://127.0.0.1:#{@port}%2Fwatch%3Fv%3Dsun1&format=json")

    # An XML oEmbed (the page has no JSON one): a photo card, its url both embed_url and
    # the image; width/height are the oEmbed's (extract_dimensions is for link cards).
    c = card_of(xml_photo)
    assert_equal [1, 'Harbour & boats', 'Kim', web('/kim'), 'Photos'],
                 c.values_at('type', 'title', 'author_name', 'author_url', 'provider_name')
    assert_equal [web('/media/lead.jpg'), 1200, 630], c.values_at('embed_url', 'width', 'height')
    assert_match(/\A\h{16}\.jpg\z/, c['image_file_name'])

    # Twitter cards only: twitter:* title/image are not read; <title> stripped,
    # <meta name=description> with its entity decoded; no og:type -> unknown (0).
    c = card_of(notes)
    assert_equal ['Weekly notes', 'Notes & links of the week'], [c['title'], c['description']]
    assert_equal [0, 0, nil], [c['type'], c['link_type'], c['image_file_name']]

    # Charsets: Shift_JIS from the header, windows-1252 from <meta http-equiv>.
    assert_equal '日本語の記事タイトル', card_of(sjis)['title']
    assert_equal 'Café crème – naïve', card_of(latin)['title']

    # fediverse:creator that cannot be resolved leaves author_account_id empty.
    c = card_of(essay)
    assert_equal ['Ein Essay', 'de', nil], [c['title'], c['language'], c['author_account_id']]

    # An image URL is not text/html: FetchLinkCardService#html is nil, no card.
    assert_nil card_of(photo)
    assert_equal 1, hits('/photo.jpg')

    # A chain of 3 redirects is followed; the card is keyed by the last URL
    # (res.request.uri), the status's link keeps the first.
    c = card_of(chain)
    assert_equal [web('/plain'), web('/go/1'), 'Plain page'], [c['url'], c['link'], c['title']]
    # 4 redirects are one more than Mastodon follows: no card.
    assert_nil card_of(loop4)
    assert_equal 0, hits('/plain') - 1, 'the fourth redirect was not followed'

    # A Link attachment (the job's second argument) is used instead of the status's links.
    c = card_of(attachment)
    assert_equal [web('/page/7'), web('/page/7'), 'Page 7'], [c['url'], c['link'], c['title']]

    # The page request: Accept text/html, Accept-Language "en, *;q=0.5", a User-Agent
    # ending in " Bot".
    r = requests.find { |x| x['path'] == '/notes' }
    assert_equal ['text/html', 'en, *;q=0.5'], [r['accept'], r['accept_language']]
    assert r['ua'].end_with?(' Bot'), r['ua']
    assert_empty retries
    assert_equal 0, @redis.zcard('dead')
  end

  def test_which_link_and_reuse
    start_pull_scotty('--forward-unhandled', 'pull_ruby')
    psql("INSERT INTO accounts (id, username, domain, uri, url, created_at, updated_at) VALUES (3, 'carol', " \
         "'other.example', 'https://other.example/users/carol', 'https://other.example/@carol', now(), now())")
    mention_first = status('<p><span class="h-card"><a href="https://remote.example/@x" class="u-url mention">@x</a></span> ' \
                           "<a href=\"https://other.example/@carol\">@carol</a> " \
                           "<a href=\"https://#{LOCAL_DOMAIN}/tags/cats\" class=\"mention hashtag\" rel=\"tag\">#cats</a> " \
                           "<a href=\"https://#{LOCAL_DOMAIN}/@alice/1\">local</a> <a href=\"ftp://x.example/\">ftp</a> " \
                           "#{link(web('/page/1'))} #{link(web('/page/2'))}</p>")
    psql("INSERT INTO mentions (account_id, status_id, created_at, updated_at) VALUES (3, #{mention_first}, now(), now())")
    with_media = status("<p>#{link(web('/page/3'))}</p>")
    psql("INSERT INTO media_attachments (id, status_id, account_id, remote_url, type, created_at, updated_at) " \
         "VALUES (115000000000000001, #{with_media}, #{BOB}, 'https://remote.example/m.png', 0, now(), now())")
    quoting = status("<p>#{link(web('/page/4'))}</p>")
    psql("INSERT INTO quotes (account_id, status_id, state, created_at, updated_at) VALUES (#{BOB}, #{quoting}, 0, now(), now())")
    only_tags = status("<p><a href=\"https://remote.example/tags/x\" rel=\"tag\">#x</a></p>")
    local = status("<p>#{link(web('/page/5'))}</p>", account: ALICE, local: true)
    [mention_first, with_media, quoting, only_tags, local].each { |id| crawl(id) }
    crawl(999_999_999) # RecordNotFound: true
    wait_pull

    # skip_link? drops the h-card/u-url and rel=tag anchors and the mentioned account's
    # URL; bad_url? drops the web domain and ftp; the first left is /page/1.
    assert_equal web('/page/1'), card_of(mention_first)['url']
    assert_equal 0, hits('/page/2')
    # with_media? and quote.present? end the job before any fetch.
    assert_nil card_of(with_media)
    assert_nil card_of(quoting)
    assert_equal [0, 0], [hits('/page/3'), hits('/page/4')]
    assert_nil card_of(only_tags)
    # A local status's links are found in its plain text by Mastodon: forwarded unchanged.
    assert_equal [local], queued('pull_ruby', 'LinkCrawlWorker').map { |j| j['args'][0] }

    # Reuse: another status with the same link gets the same card row. A card without
    # an image is fetched again each time (missing_image?: width and height are never
    # NULL, so only image_file_name decides), and its title refreshed.
    first = card_of(mention_first)
    psql("UPDATE preview_cards SET title = 'old' WHERE id = #{first['id']}")
    again = status("<p>#{link(web('/page/1'))}</p>")
    crawl(again)
    wait_pull
    assert_equal [first['id'], 'Page 1'], card_of(again).values_at('id', 'title')
    assert_equal 2, hits('/page/1')
    stale = again
    # A card with an image is reused without a fetch until it is 2 weeks old.
    img1 = status("<p>#{link(web('/img-page/1'))}</p>")
    img2 = status("<p>#{link(web('/img-page/1'))}</p>")
    crawl(img1)
    wait_pull
    crawl(img2)
    wait_pull
    card = card_of(img1)
    refute_nil card['image_file_name']
    assert_equal [card['id'], 1], [card_of(img2)['id'], hits('/img-page/1')]
    psql("UPDATE preview_cards SET updated_at = now() - interval '15 days', title = 'old' WHERE id = #{card['id']}")
    img3 = status("<p>#{link(web('/img-page/1'))}</p>")
    crawl(img3)
    wait_pull
    assert_equal [card['id'], 'Image page 1', 2], [card_of(img3)['id'], card_of(img3)['title'], hits('/img-page/1')]
    assert_operator Time.parse("#{card_of(img3)['updated_at']}Z"), :>, Time.now.utc - 3600
    # A status that already has a card is left alone (with_preview_card?).
    crawl(stale, web('/page/8'))
    wait_pull
    assert_equal 0, hits('/page/8')
    assert_empty retries
  end

  def test_bad_input_gets_no_card
    start_pull_scotty
    cases = {
      '/big' => 'over the cap of 1048576 bytes',
      '/big-chunked' => 'grew past the cap',
      '/slow' => 'timeout',
      '/to-metadata' => '169.254.169.254',
      '/bomb' => 'grew past the cap',
      '/deep' => 'no title',
      '/metas' => 'no title',
      '/ombomb' => 'oEmbed'
    }
    ids = cases.keys.to_h { |path| [path, status("<p>#{link(web(path))}</p>")] }
    ids.each_value { |id| crawl(id) }
    wait_pull('the hostile pages')
    log = @scottys.last.log
    cases.each do |path, why|
      assert_nil card_of(ids[path]), "a card for #{path}"
      line = log.lines.find { |l| l.include?("no card for status #{ids[path]} ") }
      refute_nil line, "no log line for #{path}\n#{log}"
      assert_includes line, why, "the log line for #{path} says why"
    end
    # A deeply nested oEmbed answer is a JSON::ParserError: OpenGraph next (a card).
    deep = status("<p>#{link(web('/omdeep'))}</p>")
    # An image that is not an image: save_with_optional_image! keeps the card without it.
    broken = status("<p>#{link(web('/broken-image'))}</p>")
    fine = status("<p>#{link(web('/plain'))}</p>")
    [deep, broken, fine].each { |id| crawl(id) }
    wait_pull
    assert_equal 'Deep oEmbed', card_of(deep)['title']
    c = card_of(broken)
    assert_equal ['Broken image', nil, 0, 0], [c['title'], c['image_file_name'], c['width'], c['height']]
    assert_match(/image .*not-an-image\.jpg.*not used/, @scottys.last.log)
    assert_equal 'Plain page', card_of(fine)['title']
    # retry 0 and every one of these ended the way Mastodon ends it: nothing to retry, nothing dead
    assert_empty retries
    assert_equal 0, @redis.zcard('dead')
    assert @scottys.last.alive?
  end
end
