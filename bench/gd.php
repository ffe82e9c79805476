<?php
// What v8 did for a thumbnail, with PHP's GD directly (Intervention Image's
// GD driver makes the same calls): decode, resample the v8 box to the
// target size, encode at quality 80. Times N runs in one process, as v8 ran
// under PHP-FPM, and prints the median in milliseconds.
// usage: php gd.php SRC W H crop|contain N
[$_, $src, $w, $h, $fit, $n] = $argv;
$w = (int)$w; $h = (int)$h; $n = (int)$n;
$png = str_ends_with($src, '.png');
$times = [];
for ($i = 0; $i < $n; $i++) {
    $t = hrtime(true);
    $img = $png ? imagecreatefrompng($src) : imagecreatefromjpeg($src);
    $W = imagesx($img); $H = imagesy($img);
    if ($fit === 'contain') {
        $r0 = $W / $H;
        $a1 = max(1, round($h * $r0)); $hA = max(1, round($w / ($a1 / $h)));
        $b1 = max(1, round($w / $r0)); $wB = max(1, round($h * ($w / $b1)));
        [$tw, $th] = $wB <= $w ? [(int)$wB, $h] : [$w, (int)$hA];
        [$x, $y, $bw, $bh] = [0, 0, $W, $H];
    } else {
        $ratio = $w / $h;
        [$bw, $bh] = [$W, max(1, round($W / $ratio))];
        if ($bh > $H) { [$bw, $bh] = [max(1, round($H * $ratio)), $H]; }
        $x = intdiv($W, 2) - intdiv((int)$bw, 2); $y = intdiv($H, 2) - intdiv((int)$bh, 2);
        [$tw, $th] = [$w, $h];
    }
    $dst = imagecreatetruecolor($tw, $th);
    if ($png) { imagealphablending($dst, false); imagesavealpha($dst, true); }
    imagecopyresampled($dst, $img, 0, 0, (int)$x, (int)$y, $tw, $th, (int)$bw, (int)$bh);
    ob_start();
    $png ? imagepng($dst) : imagejpeg($dst, null, 80);
    ob_end_clean();
    imagedestroy($img); imagedestroy($dst);
    $times[] = (hrtime(true) - $t) / 1e6;
}
sort($times);
printf("%.2f\n", $times[intdiv(count($times), 2)]);
