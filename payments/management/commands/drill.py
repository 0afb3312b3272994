"""`make drill`: the point-in-time recovery drill (payments/drill.py), ending with one line the
city can paste into its BCP (業務継続計画)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cityhall.pitr import RecoveryError
from payments.drill import DrillResult, run_drill


def bcp_line(result: DrillResult) -> str:
    target = timezone.localtime(result.target)
    return _(
        "復旧訓練（%(date)s）: pgBackRest のバックアップ %(label)s と WAL アーカイブから、"
        "%(target)s の時点のデータベースを新しいクラスタへ復元しました。その時点までに記録した"
        "収納 %(count)s 件・%(total)s 円はすべて一致し、その後の %(after)s 件は含まれません。"
        "復旧時点は指定時刻の %(gap).3f 秒前まで（実際の障害で失われうるのは最大 %(timeout)s 秒分"
        "の WAL）、復旧時間は %(rto).1f 秒（復元の開始から問い合わせに応答するまで）。"
    ) % {
        "date": target.strftime("%Y-%m-%d"),
        "label": result.backup_label,
        "target": target.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + target.strftime(" %Z"),
        "count": len(result.before),
        "total": f"{result.total_before:,}",
        "after": len(result.after),
        "gap": result.recovery_point_gap_seconds,
        "timeout": result.archive_timeout_seconds,
        "rto": result.cluster.seconds_to_recover,
    }


class Command(BaseCommand):
    help = (
        "Point-in-time recovery drill: record payments, note the time, record more, restore the "
        "cluster as of that time into a new cluster and check it (復旧訓練)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--before", type=int, default=10, help="payments before the target")
        parser.add_argument("--after", type=int, default=10, help="payments after the target")
        parser.add_argument(
            "--keep", action="store_true", help="leave the restored cluster running"
        )
        parser.add_argument("--language", default="ja", choices=["ja", "en"])

    def handle(self, *args, **options):
        try:
            result = run_drill(
                before=options["before"], after=options["after"], keep=options["keep"]
            )
        except RecoveryError as error:
            raise CommandError(f"drill: {error}") from error
        if not result.ok:
            missing = sorted(set(result.before) - set(result.restored))
            extra = sorted(set(result.restored) - set(result.before))
            raise CommandError(
                f"drill FAILED: restored {len(result.restored)} of the drill's payments "
                f"(missing {missing}, recorded after the target but restored {extra}); all "
                f"payments {result.all_restored} restored, {result.all_at_target} at the target"
            )
        if options["keep"]:
            self.stdout.write(
                f"drill: the restored cluster runs on 127.0.0.1:{result.cluster.port} "
                f"({result.cluster.data_dir}); remove that folder's parent when done"
            )
        with translation.override(options["language"]):
            self.stdout.write(bcp_line(result))
