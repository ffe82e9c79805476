-- Demo rows for the embedded SQLite project "demo" (config.toml). Applied once,
-- after schema.sql, when uploads/demo/directus.db does not exist yet. The
-- originals are in uploads/demo/originals (go run ./internal/fixture/mkdemo).
INSERT INTO `directus_files` (`id`, `private_hash`, `filename_disk`, `filename_download`, `title`, `type`, `uploaded_by`, `uploaded_on`, `filesize`, `width`, `height`) VALUES
  (1, 'demo0photo0jpeg1', 'photo.jpg', 'Sunset over the bay.jpg', 'Sunset over the bay', 'image/jpeg', 1, '2020-01-01 10:00:00', 0, 1800, 1200),
  (2, 'demo0portrait001', 'portrait.jpg', 'portrait.jpg', 'Portrait', 'image/jpeg', 1, '2020-01-01 10:00:00', 0, 800, 1200),
  (3, 'demo0alpha0png01', 'logo.png', 'logo.png', 'Logo', 'image/png', 1, '2020-01-01 10:00:00', 0, 400, 300),
  (4, 'demo0document001', 'guide.pdf', 'Getting started.pdf', 'Getting started', 'application/pdf', 1, '2020-01-01 10:00:00', 0, NULL, NULL);
