"""Platform operator: people, shops, the whole audit log."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CourierCompany, CourierGrant, Shop, User
from portal.permissions import resolved
from portal.services import accounts, audit, waybills
from portal.services.errors import DomainError
from portal.views import failed, paginate
from portal.views.operator import bp
from portal.views.operator.forms import CompanyForm
from portal.views.seller.forms import ActionForm


@bp.get("/")
def home():
    counts = {
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "shops": db.session.scalar(select(func.count()).select_from(Shop)),
        "grants": db.session.scalar(
            select(func.count()).select_from(CourierGrant).where(CourierGrant.revoked_at.is_(None))
        ),
    }
    return render_template("operator/home.html", counts=counts)


@bp.get("/users")
def users():
    q = request.args.get("q", "").strip().lower()
    query = select(User).order_by(User.username)
    if q:
        query = query.where(User.username.contains(q, autoescape=True))
    page = paginate(query, per_page=50)
    return render_template("operator/users.html", page=page, q=q, action_form=ActionForm())


@bp.post("/users/<int:user_id>/toggle")
def user_toggle(user_id: int):
    """Disable or re-enable a login; a disabled login is refused at its next request."""
    user = resolved("user")
    accounts.set_disabled(user, not user.is_disabled, actor=current_user._get_current_object())
    db.session.commit()
    flash(
        _("%(user)s is now %(state)s.", user=user.username, state=_("disabled") if user.is_disabled else _("enabled")),
        "info",
    )
    return redirect(url_for("operator.users"))


@bp.get("/shops")
def shops():
    page = paginate(select(Shop).order_by(Shop.id), per_page=50)
    return render_template("operator/shops.html", page=page)


@bp.get("/audit")
def audit_log():
    action = request.args.get("action") or None
    page = paginate(audit.all_events(action), per_page=50)
    return render_template("operator/audit.html", page=page, action=action)


@bp.route("/companies", methods=["GET", "POST"])
def companies():
    """The courier company registry, each with its tracking-number rule; add a company."""
    form = CompanyForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            company = waybills.add_company(
                code=form.code.data,
                name=form.name.data,
                name_zh=form.name_zh.data or "",
                pattern=form.pattern.data,
                check=form.check.data or "",
                example=form.example.data or "",
                actor=current_user._get_current_object(),
            )
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s added to the registry.", name=company.name), "success")
            return redirect(url_for("operator.companies"))
    registry = db.session.scalars(select(CourierCompany).order_by(CourierCompany.code)).all()
    return render_template("operator/companies.html", form=form, companies=registry), status
