"""The REST API at /api/v1/: routers of every domain mounted on core's RapportAPI."""

from rapport.accounts.api import router as accounts_router
from rapport.activities.api import router as activities_router
from rapport.attachments.api import router as attachments_router
from rapport.contacts.api import router as contacts_router
from rapport.contacts.duplicate_api import router as duplicates_router
from rapport.core.api import RapportAPI
from rapport.core.api_routes import router as core_router
from rapport.core.search_api import router as search_router
from rapport.core.sharing_api import router as sharing_router
from rapport.exchange.api import router as exchange_router
from rapport.exchange.vcard_api import router as vcard_router
from rapport.mail.api import router as mail_router
from rapport.notifications.api import router as notifications_router
from rapport.privacy.api import router as privacy_router
from rapport.sales.api import router as sales_router
from rapport.sales.deal_api import router as deals_router
from rapport.sales.lead_api import router as leads_router
from rapport.sales.lead_settings_api import router as lead_settings_router
from rapport.sales.order_api import router as orders_router
from rapport.sales.quote_api import router as quotes_router
from rapport.tasks.api import router as tasks_router

api = RapportAPI(title="Rapport API", version="1", urls_namespace="api")
api.add_router("", accounts_router)
api.add_router("", core_router)
api.add_router("", contacts_router)
api.add_router("", vcard_router)
api.add_router("", duplicates_router)
api.add_router("", activities_router)
api.add_router("", attachments_router)
api.add_router("", search_router)
api.add_router("", sharing_router)
api.add_router("", notifications_router)
api.add_router("", tasks_router)
api.add_router("", mail_router)
api.add_router("", sales_router)
api.add_router("", deals_router)
api.add_router("", orders_router)
api.add_router("", quotes_router)
api.add_router("", leads_router)
api.add_router("", lead_settings_router)
api.add_router("", exchange_router)
api.add_router("", privacy_router)
