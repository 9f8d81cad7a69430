"""The rota's words (排班) in zh-CN and English: the rota page, its import problems, the per-person report.

Kept apart from i18n.py's big table so the rota's texts sit together; i18n.py merges them into ``TEXT``.
Each import problem of vision/rota.py (``MESSAGES``) has its ``rota_e_<code>`` here, with the same
``{params}``.
"""

from __future__ import annotations

ROTA_TEXT: dict[str, dict[str, str]] = {
    "nav_rota": {"zh-CN": "排班", "en": "Rota"},
    "rota_title": {"zh-CN": "排班表", "en": "Rota"},
    "rota_intro": {"zh-CN": "每个窗口由谁值班、从何时到何时。事件会记录发生时在岗的工作人员。",
                   "en": "Who is on duty at each window, from when to when. Each event names the staff member on "
                         "duty when it started."},
    "rota_upload": {"zh-CN": "导入排班（CSV）", "en": "Import a rota (CSV)"},
    "rota_file": {"zh-CN": "CSV 文件", "en": "CSV file"},
    "rota_format": {"zh-CN": "第一行为列名：窗口,姓名,工号,开始,结束（也可用英文列名）；"
                             "时间按本厅时区填写，如 2026-12-01 08:30；文件保存为 UTF-8 编码的 CSV。",
                    "en": "First line names the columns: window,staff_name,staff_number,from,to (or 窗口,姓名,工号,"
                          "开始,结束); times in the hall's time zone, e.g. 2026-12-01 08:30; save as CSV UTF-8."},
    "rota_mode_add": {"zh-CN": "追加（与已有排班重叠时拒绝）", "en": "Add (refuse shifts that overlap the rota)"},
    "rota_mode_replace": {"zh-CN": "替换（替换文件所覆盖时段内这些窗口的排班）",
                          "en": "Replace (replace these windows' rota over the days the file covers)"},
    "rota_import": {"zh-CN": "导入", "en": "Import"},
    "rota_no_file": {"zh-CN": "请选择一个 CSV 文件", "en": "Choose a CSV file"},
    "rota_imported": {"zh-CN": "已导入 {imported} 个班次，替换 {replaced} 个，{attributed} 条事件已标注值班人员。",
                      "en": "Imported {imported} shifts, replaced {replaced}; {attributed} events now name who was "
                            "on duty."},
    "rota_failed": {"zh-CN": "排班未导入，未做任何更改。请修改以下问题后重新导入：",
                    "en": "The rota was not imported; nothing changed. Fix these and import again:"},
    "rota_line": {"zh-CN": "行", "en": "Line"},
    "rota_column": {"zh-CN": "列", "en": "Column"},
    "rota_problem": {"zh-CN": "问题", "en": "Problem"},
    "rota_day": {"zh-CN": "日期", "en": "Day"},
    "rota_show": {"zh-CN": "查看", "en": "Show"},
    "rota_shifts_of": {"zh-CN": "当日班次", "en": "Shifts of the day"},
    "rota_none": {"zh-CN": "当日没有排班", "en": "No shifts on the rota this day"},
    "rota_admins_import": {"zh-CN": "只有管理员可以导入排班", "en": "Only admins can import a rota"},
    "staff_name": {"zh-CN": "姓名", "en": "Name"},
    "staff_number": {"zh-CN": "工号", "en": "Staff no."},
    "shift_from": {"zh-CN": "开始", "en": "From"},
    "shift_to": {"zh-CN": "结束", "en": "To"},
    "imported_by": {"zh-CN": "导入人", "en": "Imported by"},
    "on_duty": {"zh-CN": "值班人员", "en": "On duty"},
    "on_duty_as": {"zh-CN": "值班：{name}（工号 {number}）", "en": "On duty: {name} (no. {number})"},
    "nobody_on_rota": {"zh-CN": "排班表中无人", "en": "nobody on the rota"},
    "not_on_rota": {"zh-CN": "未排班", "en": "Not on the rota"},
    # reports: daily, weekly, monthly, per person
    "daily_report": {"zh-CN": "日报", "en": "Daily report"},
    "monthly_report": {"zh-CN": "月报", "en": "Monthly report"},
    "report_day": {"zh-CN": "日报", "en": "Day"},
    "report_week": {"zh-CN": "周报", "en": "Week"},
    "report_month": {"zh-CN": "月报", "en": "Month"},
    "period_week": {"zh-CN": "{year}年第{week}周", "en": "Week {week}, {year}"},
    "period_month": {"zh-CN": "{year}年{month}月", "en": "{month}/{year}"},
    "this_month": {"zh-CN": "本月", "en": "This month"},
    "previous_month": {"zh-CN": "上月", "en": "Last month"},
    "this_day": {"zh-CN": "当日", "en": "This day"},
    "previous_day": {"zh-CN": "前一日", "en": "Day before"},
    "vs_previous_day": {"zh-CN": "前一日", "en": "day before"},
    "vs_previous_month": {"zh-CN": "上月", "en": "previous month"},
    "chart_by_type_day": {"zh-CN": "按事件类型：当日与前一日", "en": "By event type: this day vs the day before"},
    "chart_by_type_month": {"zh-CN": "按事件类型：本月与上月", "en": "By event type: this month vs previous"},
    "chart_by_hour": {"zh-CN": "每小时事件数", "en": "Events per hour"},
    "chart_by_date": {"zh-CN": "每日事件数", "en": "Events per day"},
    "chart_by_person": {"zh-CN": "每人事件数", "en": "Events per person"},
    "per_person": {"zh-CN": "按人员统计", "en": "Per person"},
    "duty_hours": {"zh-CN": "在岗时长（小时）", "en": "Time on duty (h)"},
    "events_per_hour": {"zh-CN": "每小时事件", "en": "Events per hour on duty"},
    "events_unit": {"zh-CN": "条", "en": ""},
    "hour_label": {"zh-CN": "{h}时", "en": "{h}:00"},
    "date_label": {"zh-CN": "{d}日", "en": "{d}"},
    "csv_windows": {"zh-CN": "按窗口 CSV", "en": "CSV per window"},
    "csv_people": {"zh-CN": "按人员 CSV", "en": "CSV per person"},
    # CSV headers
    "csv_period": {"zh-CN": "时段", "en": "Period"},
    "csv_window_id": {"zh-CN": "窗口编号", "en": "Window ID"},
    "csv_window": {"zh-CN": "窗口", "en": "Window"},
    "csv_type": {"zh-CN": "事件类型代码", "en": "Type"},
    "csv_event": {"zh-CN": "事件", "en": "Event"},
    "csv_count": {"zh-CN": "次数", "en": "Count"},
    "csv_total_minutes": {"zh-CN": "总时长（分钟）", "en": "Total minutes"},
    "csv_longest_minutes": {"zh-CN": "最长（分钟）", "en": "Longest minutes"},
    "csv_previous_count": {"zh-CN": "上期次数", "en": "Previous period count"},
    "csv_staff_number": {"zh-CN": "工号", "en": "Staff number"},
    "csv_staff_name": {"zh-CN": "姓名", "en": "Name"},
    "csv_duty_hours": {"zh-CN": "在岗时长（小时）", "en": "Hours on duty"},
    "csv_events": {"zh-CN": "事件合计", "en": "Events"},
    # the rota's columns, as a problem names them when the file's own heading is not at hand
    "rota_col_window": {"zh-CN": "窗口", "en": "window"},
    "rota_col_staff_name": {"zh-CN": "姓名", "en": "staff_name"},
    "rota_col_staff_number": {"zh-CN": "工号", "en": "staff_number"},
    "rota_col_from": {"zh-CN": "开始", "en": "from"},
    "rota_col_to": {"zh-CN": "结束", "en": "to"},
    # import problems (vision/rota.py MESSAGES), after where they are
    "rota_e_empty": {"zh-CN": "文件中没有班次；第一行为列名：窗口,姓名,工号,开始,结束",
                     "en": "the file has no shifts; the first line names the columns: window, staff_name, "
                           "staff_number, from, to"},
    "rota_e_not_text": {"zh-CN": "文件不是 UTF-8 文本；请另存为“CSV UTF-8”格式",
                        "en": "the file is not UTF-8 text; save it as CSV UTF-8"},
    "rota_e_bad_csv": {"zh-CN": "不是有效的 CSV（{reason}）；请将表格另存为“CSV UTF-8”格式",
                       "en": "this is not CSV ({reason}); save the sheet as CSV UTF-8"},
    "rota_e_too_many": {"zh-CN": "一次最多导入 {limit} 个班次，文件有 {count} 个；请拆分文件",
                        "en": "at most {limit} shifts in one import, got {count}; split the file"},
    "rota_e_missing_column": {"zh-CN": "缺少“{column}”列；第一行应为列名：窗口,姓名,工号,开始,结束",
                              "en": "no column {column}; the first line must name the columns window, staff_name, "
                                    "staff_number, from, to (or 窗口, 姓名, 工号, 开始, 结束)"},
    "rota_e_unknown_column": {"zh-CN": "无法识别的列“{column}”；可用列：窗口,姓名,工号,开始,结束",
                              "en": "unknown column {column}; known: window, staff_name, staff_number, from, to"},
    "rota_e_duplicate_column": {"zh-CN": "“{column}”列出现了两次", "en": "column {column} is named twice"},
    "rota_e_extra_cells": {"zh-CN": "这一行有 {count} 个单元格，但列名只有 {columns} 个",
                           "en": "the row has {count} cells, but the header names {columns} columns"},
    "rota_e_required": {"zh-CN": "为空，请填写", "en": "empty; fill it in"},
    "rota_e_too_long": {"zh-CN": "最多 {limit} 个字符", "en": "at most {limit} characters"},
    "rota_e_unknown_window": {"zh-CN": "本厅没有窗口“{value}”；请填写窗口编号或名称：{known}",
                              "en": "no window {value} in this hall; use a window id or name: {known}"},
    "rota_e_bad_time": {"zh-CN": "“{value}”不是日期时间；请写成 2026-12-01 08:30（本厅时区）",
                        "en": "{value} is not a date-time; write it as 2026-12-01 08:30 (the hall's time zone)"},
    "rota_e_end_before_start": {"zh-CN": "结束时间（{to}）早于开始时间（{from}）；请对调，或改正日期",
                                "en": "the shift ends ({to}) before it starts ({from}); swap them, or fix the date"},
    "rota_e_too_long_shift": {"zh-CN": "班次长 {hours} 小时；一个班次最长 24 小时，请拆分",
                              "en": "the shift is {hours} hours long; a shift is at most 24 hours: split it"},
    "rota_e_two_names": {"zh-CN": "工号 {number} 在此为{name}，但第 {other_line} 行为{other}；一个工号只对应一人",
                         "en": "工号 {number} is {name} here but {other} on line {other_line}; one 工号 is one person"},
    "rota_e_overlap": {"zh-CN": "{name}（{from}–{to}）与第 {other_line} 行{other}（{other_from}–{other_to}）在窗口 "
                                "{window} 时间重叠；请让一个班次在另一个开始前结束，或删去其一",
                       "en": "{name} ({from}–{to}) overlaps {other} ({other_from}–{other_to}) on line {other_line} "
                             "at window {window}; end one shift before the other starts, or remove one"},
    "rota_e_two_windows": {"zh-CN": "{name}（工号 {number}）{from} 至 {to} 在窗口 {window}，同时又在第 {other_line} "
                                    "行的窗口 {other_window}；请改正其中一个班次",
                           "en": "{name} (工号 {number}) is on window {window} from {from} to {to} and on window "
                                 "{other_window} on line {other_line} at the same time; fix one of the two shifts"},
    "rota_e_overlaps_stored": {"zh-CN": "{name}（{from}–{to}）与窗口 {window} 已有的排班 {other}（{other_from}–"
                                        "{other_to}）重叠；如要替换这些日期的排班，请选择“替换”方式导入，或修改此班次",
                               "en": "{name} ({from}–{to}) overlaps the shift already on the rota at window "
                                     "{window}: {other} ({other_from}–{other_to}); import with mode replace to "
                                     "replace the rota of those days, or change this shift"},
    "rota_e_two_windows_stored": {"zh-CN": "{name}（工号 {number}）在已有排班中 {other_from} 至 {other_to} 在窗口 "
                                           "{other_window}；请修改此班次或那个班次",
                                  "en": "{name} (工号 {number}) is already on the rota at window {other_window} "
                                        "from {other_from} to {other_to}; fix this shift or that one"},
    "rota_e_bad_mode": {"zh-CN": "导入方式“{value}”无效：请选择追加或替换",
                        "en": "mode {value}: use add or replace"},
}
