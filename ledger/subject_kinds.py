"""What a subject is (docs/domain.md, Subjects), and which annex table it belongs to.

Pure, so that the aggregate, the read side and the offline verifier agree on it.
"""

from __future__ import annotations

# kind -> the label users see
LABELS = {
    "project": "项目支出",
    "policy": "政策",
    "department_overall": "部门整体支出",
    "township": "镇人民政府整体支出",
    "subdistrict": "街道办事处整体支出",
    "fiscal_operations": "财政运行综合绩效",
}
KEY_KINDS = ("project", "policy", "fiscal_operations")  # 附件1, when flagged key
# The overall spending of a department or of a 镇 or 街道 government: 附件2, key or not.
OVERALL_KINDS = ("department_overall", "township", "subdistrict")
ANNEX_KINDS = {**{k: "key_projects" for k in KEY_KINDS},
               **{k: "department_overall" for k in OVERALL_KINDS}}
