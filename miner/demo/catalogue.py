"""Ground truth and text material for the Shiftwise demo dataset.

Shiftwise is a fictional B2B SaaS for workforce scheduling and time tracking (web app, iOS and
Android apps, calendar/chat/payroll integrations, reports and exports, SSO). This module is data:
the issue catalogue with many phrasings per issue, the non-issue messages, and everything that wraps
a message (greetings, signatures, forwarded-mail noise, agent replies, internal notes, names).

Templates use `str.format_map` placeholders ("{iphone}", "{site}"). Static placeholders are listed
in `SLOTS`; the generator fills the rest (numbers, dates, contact details, the org's own tools).
Ticket text is written the way customers write, never from the taxonomy's keyword lists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IssueSpec:
    """One ground-truth product issue and the ways customers describe it."""

    key: str
    title: str
    category: str
    subcategory: str
    issue_type: str
    severity: str
    pattern: str  # "steady" | "emerging" | "fading"
    weight: float  # relative ticket volume: a few big issues, a long tail of small ones
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    mobile: bool = False  # mostly reported from the phone apps


# --- static slot values -------------------------------------------------------------------------
# Dynamic ones (numbers, dates, people, contact details, org tools) come from the generator.

SLOTS: dict[str, tuple[str, ...]] = {
    "iphone": ("iPhone 15", "iPhone 13 mini", "iPhone 14 Pro", "iPhone SE", "iPhone 12",
               "iPhone 16 Pro Max", "iPhone 11", "iPhone 15 Plus", "iPad (10th gen)"),
    "ios": ("iOS 18.1", "iOS 17.6.1", "iOS 18.0.1", "iOS 17.5", "iOS 18.2", "iOS 18.1.1",
            "the latest iOS"),
    "android_device": ("Samsung Galaxy A54", "Pixel 8", "Galaxy S23", "Moto G Power",
                       "OnePlus 11", "Redmi Note 12", "Galaxy Tab A8", "Pixel 7a", "Galaxy S21 FE",
                       "Nokia G21"),
    "android": ("Android 14", "Android 13", "Android 12", "Android 15", "the latest Android"),
    "old_app": ("7.0.3", "7.1.0", "7.1.2", "6.9.4", "7.1.1"),
    "new_app": ("7.2.0", "7.2.1", "7.2", "7.2.0 (4410)", "7.2.1 (4432)"),
    "browser": ("Chrome", "Edge", "Firefox", "Safari", "Chrome 131", "Edge on Windows 11",
                "Chrome on a Mac", "Firefox 133"),
    "seconds": ("30", "40", "45", "50", "60", "90", "35"),
    "n_people": ("3", "5", "a dozen", "about 20", "two", "several", "four", "half a dozen", "8"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "time": ("7:00am", "06:30", "22:00", "3pm", "11:45 PM", "5:30am", "14:00", "8am"),
    "when": ("yesterday", "this morning", "last week", "Monday", "the weekend", "the last update",
             "a couple of days ago", "last Thursday", "the start of the month", "Friday"),
    "minutes": ("30", "45", "15", "20", "60"),
    "hours": ("1", "2", "0.5", "8", "3.5", "4", "1.25", "6"),
    "pct": ("10", "20", "30", "40", "half of", "60"),
    "lang_any": ("German", "French", "Spanish", "Dutch", "Portuguese", "Polish", "Italian"),
    "tz": ("Australia", "the UK", "Pacific time", "New Zealand", "Central European time",
           "Eastern time", "Singapore"),
    "city": ("Munich", "Lyon", "Rotterdam", "Madrid", "Lisbon", "Krakow", "Milan", "Vienna"),
}

# People: requesters, their coworkers, agents, and the names used in signatures.
FIRST_NAMES: tuple[str, ...] = (
    "James", "Maria", "Aisha", "Tom", "Priya", "Daniel", "Sofia", "Kevin", "Emily", "Luis", "Grace",
    "Mohammed", "Hannah", "Carlos", "Olivia", "Ben", "Chloe", "Raj", "Megan", "Lucas", "Fatima",
    "Ryan", "Jessica", "Marco", "Zoe", "Nathan", "Amy", "Samuel", "Laura", "Ahmed", "Rachel", "Diego",
    "Sarah", "Jack", "Nina", "Tyler", "Ana", "Chris", "Leah", "Omar", "Kate", "Peter", "Mei", "Josh",
    "Claire", "Ivan", "Ruth", "Sam", "Elena", "Noah", "Yuki", "Brandon", "Helen", "Andre", "Beth",
    "Tariq", "Jenny", "Paul", "Ines", "Marcus", "Dana", "Felix", "Lena", "Victor", "Abby", "Kwame",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Garcia", "Khan", "Nguyen", "Brown", "Patel", "Muller", "Rossi", "Johnson", "Lopez",
    "O'Brien", "Kowalski", "Williams", "Silva", "Chen", "Taylor", "Dubois", "Jones", "Martin", "Ali",
    "Walker", "Schmidt", "Hughes", "Moreno", "Clarke", "Novak", "Evans", "Ivanova", "Reyes", "Wright",
    "Baker", "Fischer", "Murphy", "Santos", "Hall", "Kim", "Young", "Costa", "Green", "Jansen",
    "Adams", "Bianchi", "Scott", "Tanaka", "Mitchell", "Owusu", "Price", "Lindqvist", "Bennett",
    "Hoffmann", "Turner", "Morales", "Wood", "Sato", "Harris", "Okafor", "Fraser", "Petrov",
)
ROLE_TITLES: tuple[str, ...] = (
    "Operations Manager", "HR Coordinator", "Store Manager", "Payroll Administrator",
    "General Manager", "Scheduling Lead", "Office Manager", "Owner", "IT Administrator",
    "Area Manager", "Head of People", "Workforce Planner", "Site Supervisor", "Finance Manager",
    "Assistant Manager", "Director of Operations", "People & Culture Lead", "Shift Manager",
)
AGENT_NAMES: tuple[str, ...] = (
    "Alex Morgan", "Priya Raman", "Jordan Lee", "Sam Whitaker", "Bianca Torres", "Ellis Grant",
    "Noor Haddad", "Tomás Ferreira", "Kim Larsen", "Rosa Delgado", "Ollie Bennett", "Mira Okoye",
    "Dev Sharma", "Hazel Quinn",
)
BILLING_AGENTS = 2  # the last two agents handle billing and account changes

# --- organisations ---------------------------------------------------------------------------------
# Industry -> (company-name nouns, sites, staff (plural), role (singular)).

INDUSTRIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "restaurants": (
        ("Kitchen", "Grill", "Bistro Group", "Eatery", "Pizza Co", "Burger Bar", "Taqueria", "Noodle House",
         "Hospitality", "Diner"),
        ("the downtown restaurant", "our airport location", "the Main St kitchen", "Store #4",
         "the new site", "our flagship", "the food hall unit"),
        ("servers", "line cooks", "kitchen staff", "bartenders", "front of house staff"),
        ("server", "line cook", "bartender", "host", "shift lead", "kitchen porter"),
    ),
    "retail": (
        ("Outfitters", "Home Store", "Pharmacy", "Books", "Market", "Hardware", "Boutiques",
         "Supply Co", "Garden Centre", "Electronics"),
        ("Store #14", "the mall store", "our outlet", "the high street shop", "store 22",
         "the distribution centre", "the Westfield store"),
        ("sales associates", "cashiers", "stock team", "store staff", "weekend staff"),
        ("cashier", "sales associate", "key holder", "store manager", "stock lead"),
    ),
    "care": (
        ("Care Homes", "Home Care", "Senior Living", "Nursing", "Care Group", "Healthcare",
         "Community Care", "Residential Care"),
        ("the Riverside home", "our Leeds site", "the east wing", "Oak Lodge", "the day centre",
         "Maple House"),
        ("care assistants", "night nurses", "carers", "support workers", "nurses"),
        ("care assistant", "nurse", "carer", "support worker", "team leader"),
    ),
    "clinics": (
        ("Dental Group", "Medical Centre", "Physio", "Vet Clinics", "Urgent Care", "Family Practice",
         "Eye Care", "Health Partners"),
        ("the Riverside clinic", "our second location", "the north clinic", "the main practice",
         "the satellite office"),
        ("nurses", "receptionists", "hygienists", "clinical staff", "front desk staff"),
        ("receptionist", "nurse", "hygienist", "practice manager", "vet tech"),
    ),
    "logistics": (
        ("Logistics", "Freight", "Distribution", "Couriers", "Fulfilment", "Transport", "Warehousing",
         "Express"),
        ("the warehouse", "the Midlands depot", "DC2", "the cross-dock", "the night team",
         "the Reno facility"),
        ("pickers", "drivers", "warehouse staff", "forklift operators", "night shift"),
        ("picker", "driver", "team lead", "forklift operator", "dispatcher"),
    ),
    "security": (
        ("Security", "Guarding", "Protection Services", "Security Solutions", "Patrol"),
        ("the hospital contract", "the retail park", "site 7", "the stadium", "the office tower"),
        ("guards", "security officers", "patrol staff", "night guards"),
        ("guard", "security officer", "supervisor", "patrol officer"),
    ),
    "cleaning": (
        ("Cleaning", "Facility Services", "Janitorial", "Maintenance", "Property Services"),
        ("the hospital contract", "the airport contract", "the office park", "the school sites",
         "the north region"),
        ("cleaners", "cleaning operatives", "site staff", "evening crews"),
        ("cleaner", "supervisor", "area lead", "operative"),
    ),
    "hotels": (
        ("Hotels", "Resorts", "Inn", "Suites", "Hospitality Group", "Lodge"),
        ("the city centre hotel", "the resort", "our Lisbon property", "the conference centre",
         "the spa"),
        ("housekeepers", "front desk team", "banqueting staff", "room attendants"),
        ("housekeeper", "receptionist", "night auditor", "duty manager", "porter"),
    ),
    "fitness": (
        ("Fitness", "Gyms", "Leisure", "Climbing", "Yoga Studios", "Sports Club"),
        ("the downtown gym", "the pool", "studio 2", "our newest club", "the leisure centre"),
        ("instructors", "lifeguards", "front desk staff", "coaches"),
        ("instructor", "lifeguard", "coach", "duty manager"),
    ),
    "contact_centre": (
        ("Contact Centre", "Call Solutions", "Customer Care", "Helpdesk Services", "Outsourcing"),
        ("the Manila team", "floor 3", "the Glasgow centre", "the weekend team", "the inbound team"),
        ("agents", "advisors", "team leaders", "night shift"),
        ("agent", "advisor", "team leader", "workforce analyst"),
    ),
}
INDUSTRY_DESCRIPTIONS: dict[str, str] = {
    "restaurants": "restaurant group", "retail": "retail chain", "care": "care provider",
    "clinics": "group of clinics", "logistics": "logistics company", "security": "security company",
    "cleaning": "cleaning company", "hotels": "hotel group", "fitness": "gym chain",
    "contact_centre": "contact centre",
}
COMPANY_PREFIXES: tuple[str, ...] = (
    "Harbor", "Bluebird", "Northside", "Evergreen", "Summit", "Riverbend", "Oakwood", "Silverline",
    "Crescent", "Pioneer", "Redwood", "Lakeshore", "Golden Gate", "Maple", "Brightside", "Keystone",
    "Ironbridge", "Westfield", "Cedar", "Horizon", "Meridian", "Copperleaf", "Highland", "Sunrise",
    "Blue Harbour", "Foxglove", "Anchor", "Granite", "Willow", "Saffron", "Beacon", "Thistle",
    "Atlas", "Juniper", "Larkspur", "Millstone", "Orchard", "Parkside", "Quayside", "Rosewood",
    "Stonegate", "Tidewater", "Union", "Vale", "Wrenfield", "Yarrow", "Alder", "Birchwood",
    "Castle", "Driftwood", "Elmstead", "Fairview", "Greenway", "Hollybrook", "Kingsway", "Lantern",
    "Mariner", "Northgate", "Old Mill", "Pinecrest", "Redhill", "Seaview", "Trinity", "Upland",
)
COMPANY_SUFFIXES: tuple[str, ...] = ("", "", "", " Ltd", " Inc.", " LLC", " GmbH", " Group", " & Co", " BV")

# Integrations an org uses; the generator picks one of each per org so its tickets stay consistent.
PAYROLL_TOOLS: tuple[str, ...] = ("ADP", "Gusto", "QuickBooks", "Xero", "Paychex", "Sage", "DATEV", "Paylocity")
IDENTITY_PROVIDERS: tuple[str, ...] = ("Okta", "Azure AD", "Entra ID", "Google Workspace", "OneLogin", "JumpCloud")
CALENDARS: tuple[str, ...] = ("Google Calendar", "Outlook", "the iPhone calendar", "Outlook 365", "Google Calendar")
CHAT_TOOLS: tuple[str, ...] = ("Slack", "Teams", "Slack", "Microsoft Teams")
LANGUAGES: dict[str, str] = {"de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "pt": "Portuguese"}
PLANS: tuple[str, ...] = ("starter", "business", "enterprise")


# --- the issue catalogue ---------------------------------------------------------------------------

ISSUES: tuple[IssueSpec, ...] = (
    IssueSpec(
        key="schedule_week_view_slow",
        title="Schedule week view is very slow for large locations",
        category="performance", subcategory="slow", issue_type="friction", severity="high",
        pattern="steady", weight=360,
        subjects=("Schedule page so slow", "Scheduler takes forever to load", "Week view loading for minutes",
                  "Performance of the schedule", "Is Shiftwise having problems today?", "Schedule screen unusable",
                  "rota page crawling"),
        bodies=(
            "The schedule page takes {seconds} seconds to load every single time. We have {n_staff} people on it. This is killing our managers.",
            "Opening the week view for {site} is painfully slow. The spinner goes round for ages and sometimes {browser} asks if I want to wait or kill the page.",
            "Every time I switch from one week to the next in the scheduler I have to wait close to a minute. Building next week's rota used to take me 20 minutes, now it takes most of the afternoon.",
            "schedule wont load. been spinning for 2 min. {browser}.",
            "Our managers are complaining that the scheduling screen has become really sluggish. It's fine for the small sites but for {site} with {n_staff} employees it is borderline unusable. Dragging a shift to another day takes several seconds before it lands.",
            "Is there something wrong on your side? Loading the schedule is extremely slow today, same on my laptop and my colleague's. Other websites are fine so it's not our internet.",
            "When I filter the schedule by position the page freezes for 20-30 seconds. With {n_staff} staff this happens every time I touch a filter.",
            "I timed it: {seconds} seconds from clicking Schedule to being able to do anything. It used to be instant. We plan {n_staff} people every week and it is becoming a real problem for us.",
            "The week view is so slow that my managers have started keeping the rota in a spreadsheet again and copying it in at the end. We pay for Shiftwise so we don't have to do that.",
            "Click a shift, wait. Edit, wait. Save, wait. The scheduler has got really heavy since {when}. Happens in {browser} and on my colleague's machine too.",
        ),
    ),
    IssueSpec(
        key="android_clock_in_location_rejected",
        title="Android app rejects clock-in as 'not at work location' although the employee is on site",
        category="mobile", subcategory="android", issue_type="bug", severity="high",
        pattern="steady", weight=280, mobile=True,
        subjects=("Android clock in not working", "Staff can't clock in - location error", "\"Not at work location\" error",
                  "Clocking in on Android", "Geofence problem at {site}", "Employees stuck at clock in",
                  "can't start my shift in the app"),
        bodies=(
            "Several of our {staff} with Android phones can't clock in. The app says they are not at the work location but they are literally standing inside {site}. iPhone users are fine.",
            "My {android_device} keeps telling me I'm outside the location when I try to clock in. Location is on, I gave the app permission, restarted the phone. Still nothing. I'm at work!!",
            "Clock in button gives the error 'You're not within the allowed area' on {android}. Happens every morning at {time}.",
            "We set a 200m radius around {site} and people on Android keep getting rejected when they clock in, even when standing at the front door. The map in the app shows their dot in the right place, so the phone knows where they are.",
            "android app wont let me clock in says im not at work. i am at work. second time this week",
            "Since {weekday} {n_people} of my team on Android phones (mostly {android_device}) cannot punch in. They've had to ask me to add their hours manually, which is a pain for a team of {n_staff}.",
            "The location check on the Android app seems broken. My phone ({android_device}, {android}) shows the correct location in Google Maps but Shiftwise says I'm 1.2 km away and won't let me start my shift.",
            "We're getting complaints from {staff} who can't start their shift in the app on Android. The message mentions location. Turning wifi on helps some of them but not all. Our iPhone users have no problem at all.",
            "Employees on Samsung phones are being blocked at clock-in with a location message. Their managers have to override every single punch, so the timesheets are full of manual edits now.",
            "Clocking in on Android is hit and miss. Some days it works, some days the same person in the same spot is told they're outside the zone.",
        ),
    ),
    IssueSpec(
        key="payroll_export_overtime_as_regular",
        title="Payroll export sends overtime hours as regular hours",
        category="integrations", subcategory="payroll", issue_type="data_issue", severity="critical",
        pattern="steady", weight=230,
        subjects=("Payroll export wrong", "Overtime missing in {payroll}", "URGENT payroll numbers incorrect",
                  "{payroll} sync - overtime", "Employees underpaid because of export", "OT not coming through"),
        bodies=(
            "The hours we exported to {payroll} this pay period don't include overtime. Everything came through as regular hours, so people who worked 50 hours were paid straight time. We have to run payroll by {weekday}.",
            "Our payroll run is wrong again. Overtime hours from Shiftwise show up as regular in {payroll}. I checked three employees by hand and every one is off.",
            "URGENT: staff got paid wrong. The overtime column in the file that goes to {payroll} is empty for everyone even though the timesheets in Shiftwise clearly show overtime.",
            "I compared the timesheets with what landed in {payroll}. Total hours match but the split doesn't: {hours} hours of overtime for {coworker} became regular time. This is a legal problem for us in California.",
            "Hello, since the last pay period the sync to {payroll} no longer separates OT. We've had {n_people} complaints from employees already. Can someone look at this today please?",
            "payroll sync is dropping overtime. again. we had to do corrections for {count} people by hand",
            "Our accountant flagged that the hours file for {payroll} lists everything under the regular earnings code. Overtime and double-time are both zero. Is there a setting that changed?",
            "Overtime from Shiftwise is not making it into {payroll}. Shiftwise calculates it correctly on screen (1.5x after 40h) but the sync sends it as normal hours. We only caught it after payday.",
            "We push hours to {payroll} for {n_staff} employees. This period the totals look right but overtime is merged into regular hours. Please treat as high priority, people are being underpaid.",
        ),
    ),
    IssueSpec(
        key="shift_swap_stuck_pending",
        title="Approved shift swaps stay pending and the schedule is not updated",
        category="core_workflow", subcategory="approvals", issue_type="bug", severity="high",
        pattern="steady", weight=190,
        subjects=("Shift swap stuck pending", "Swap approved but not showing", "Shift trade problem",
                  "Approvals not going through", "Swap requests broken?", "trades not sticking"),
        bodies=(
            "I approved a shift swap between {coworker} and another {role} yesterday and it still says pending. The schedule still shows the old person on the shift.",
            "When a manager approves a trade, it stays in the 'waiting for approval' list and the shift never moves. We've had people not show up because they thought the swap went through.",
            "Shift swaps are not working. Employee asks, coworker accepts, I approve, and then nothing happens.",
            "We have about {count} swaps that were approved last week but still show as pending on both employees' phones. Which version is correct, the schedule or the swap screen?",
            "swap approved 3 times, still pending. what am I doing wrong??",
            "The trade board seems broken. I hit approve, get the green confirmation, refresh, and it's back in the pending list.",
            "Our {staff} swap shifts a lot. Since around {when} approvals don't stick: the swap stays open and the coworker is never told they have the shift. This caused a no-show at {site} on {weekday}.",
            "Approving swaps from the phone doesn't do anything. From the website it sometimes works. We've gone back to sorting swaps by text message, which defeats the point.",
            "Could you check our account? Approved swaps aren't applied to the schedule. I can see my approval in the activity log but the shift is still assigned to the original person.",
        ),
    ),
    IssueSpec(
        key="sso_redirect_loop",
        title="Single sign-on sends users back to the login page in a loop",
        category="authentication", subcategory="sso", issue_type="bug", severity="critical",
        pattern="steady", weight=150,
        subjects=("SSO not working", "Can't sign in with {idp}", "Login loop", "URGENT - nobody can log in",
                  "Redirect issue when signing in", "{idp} sign-in broken"),
        bodies=(
            "Our users sign in through {idp} and since this morning they just get bounced back to the Shiftwise login page. No error, just an endless loop. Nobody at {company} can get in.",
            "Signing in through {idp} is broken for us. Click the button, authenticate, get redirected back to Shiftwise, and land on the login screen again. Tried incognito, different browsers, cleared cookies.",
            "URGENT. Whole company can't get in. {idp} says authentication succeeded but Shiftwise sends us back to the start. Managers can't see today's schedule.",
            "We're stuck in a redirect loop between Shiftwise and {idp}. Our IT team checked the SAML settings and nothing has changed on our side. The certificate is valid until next year.",
            "company login goes round in circles. it flashes and comes back to the start page",
            "Since {when} a good number of our users can't get in with their work account. Those who still have a password can use that, but most of our {staff} only have the {idp} login. Can you check the logs for our tenant?",
            "After signing in at {idp} the browser bounces between two URLs about ten times and then shows 'too many redirects'. Happens on {browser} and Safari.",
            "Our identity team sees a successful assertion going to you, but the user ends up on your sign-in page instead of the dashboard. This affects roughly {pct}% of our people.",
            "Hello, the login with {idp} doesn't work since yesterday, it is going in a loop. Please help quickly, the employees can't see their shifts.",
        ),
    ),
    IssueSpec(
        key="shift_reminder_push_missing",
        title="Shift reminder push notifications don't arrive",
        category="notifications", subcategory="push", issue_type="bug", severity="medium",
        pattern="steady", weight=110, mobile=True,
        subjects=("No shift reminders", "Push notifications not coming through", "Notifications stopped",
                  "Staff missing shifts - no reminder", "Reminder before shift", "phone not telling me about my shifts"),
        bodies=(
            "My staff aren't getting the reminder on their phones before their shift anymore. It's switched on in settings and notifications are allowed on their phones.",
            "I stopped getting notifications from the app about my shifts. Had a late start on {weekday} because of it.",
            "The 'your shift starts in 1 hour' notification never comes. {n_people} people on my team said the same. We didn't change anything.",
            "Push notifications seem to be broken. The 'schedule published' ones come through fine but the reminders before a shift don't.",
            "no alerts on my phone anymore for upcoming shifts. reinstalled the app, still nothing",
            "We rely on the reminder because our {staff} have very irregular shifts. Since around {when} the reminders arrive hours late or not at all. We had two no-shows this week.",
            "Reminders were working fine until a couple of weeks ago. Now I get maybe one in five. Tested on my {iphone} and my colleague's {android_device}, same on both.",
            "Is there a problem with the shift reminders? Some employees get them {minutes} minutes after the shift has already started, which is useless.",
            "None of the pre-shift pings are reaching my {staff}. The app is allowed to send notifications, battery saver is off, we've checked everything on our side.",
        ),
    ),
    IssueSpec(
        key="overnight_shift_hours_wrong",
        title="Hours for shifts that cross midnight are split or totalled wrong",
        category="data_reporting", subcategory="data_accuracy", issue_type="data_issue", severity="high",
        pattern="steady", weight=100,
        subjects=("Wrong hours on night shifts", "Overnight shift hours incorrect", "Timesheet totals off",
                  "Night shift counted twice?", "Hours don't add up", "night shift calculation"),
        bodies=(
            "Night shifts that go past midnight are showing the wrong number of hours. A 10pm-6am shift shows as 2 hours on one day and 6 on the next, and the weekly total is off by {hours}.",
            "Our overnight {staff} are showing negative hours on their timesheet for {weekday}. The clock-in and clock-out times are correct, just the total is nonsense.",
            "Since the clocks changed, anyone who worked nights over the weekend has an extra hour (or one missing). We need this fixed before we pay people.",
            "The timesheet for {coworker} shows 16 hours for a shift that was 22:00 to 06:00. Looks like the clock-out was attached to the wrong day.",
            "overnight shifts totals are wrong, every week, we fix them by hand",
            "We run a 24/7 operation at {site}. Any shift that crosses midnight gets its hours put on the wrong day, which throws off our daily labour numbers and sometimes the overtime too. Example: {coworker} on {weekday}.",
            "Hours are double-counted for shifts crossing midnight. The day view shows 8h on Tuesday AND 8h on Wednesday for the same shift.",
            "Our weekly totals don't match what people actually worked. I tracked it down to night shifts: anything ending after midnight is off by a few hours.",
            "Hello, I think there is a problem with the calculation of night hours. Employee start 23:00 and finish 07:00 but system calculate {hours} hours. Can you check please?",
        ),
    ),
    IssueSpec(
        key="calendar_sync_duplicates",
        title="Calendar sync duplicates shifts after schedule changes",
        category="integrations", subcategory="calendar", issue_type="bug", severity="medium",
        pattern="fading", weight=120,
        subjects=("Duplicate shifts in {calendar}", "Calendar sync creating doubles", "Calendar showing old shifts",
                  "Every shift appears twice in my calendar", "calendar mess", "Shifts twice on my phone calendar"),
        bodies=(
            "Every time my manager changes a shift, {calendar} ends up with two entries: the old time and the new time. My calendar is a mess.",
            "The calendar feed keeps adding duplicate shifts. I have three copies of my {weekday} shift in {calendar}.",
            "Shifts that were deleted from the schedule are still in my {calendar}, and the updated ones are added next to them. Which one am I supposed to trust?",
            "calendar sync duplicating shifts again",
            "Our employees subscribe to their schedule in {calendar}. For a few weeks now, whenever we edit a shift they get a second copy instead of the first one moving. Some people turned up at the old time.",
            "I unlinked and re-linked {calendar} like your article says, and the duplicates came back after the next schedule change.",
            "Is there a known problem with the calendar link? I see every shift for next week twice, one of them at the wrong time.",
            "The Outlook feed has gone weird: cancelled shifts don't disappear and changed ones are duplicated. I've had to turn it off and tell my team to check the app instead.",
            "My shifts show up twice in {calendar} since {when}. One copy updates, the other one never does.",
        ),
    ),
    IssueSpec(
        key="recurring_shift_edit_changes_series",
        title="Editing one occurrence of a recurring shift unexpectedly changes the whole series",
        category="core_workflow", subcategory="scheduling", issue_type="ux_confusion", severity="medium",
        pattern="steady", weight=80,
        subjects=("Changed one shift, all of them changed", "Repeating shifts question", "Edited a shift and it changed the whole month",
                  "Repeating shift edit", "Help - schedule messed up", "what does 'apply to following' mean"),
        bodies=(
            "I wanted to move just this {weekday}'s shift for {coworker} and it moved every {weekday} for the next three months. Nothing warned me that would happen.",
            "How do I edit only one shift in a repeating series? The popup has two buttons and I honestly don't know which one does what. I picked the wrong one and had to redo the rota for {site}.",
            "The dialog when you edit a repeating shift is confusing. 'Apply to following' - following what? I thought it meant the next shift only.",
            "One small change to a repeating shift wiped out all the individual changes I'd made for the rest of the month.",
            "edited one shift and it changed all of them?!",
            "I'm new to managing schedules. I changed the end time on one of our repeating shifts and now every week shows the new time. I only wanted it for one day because of a bank holiday. Is there a way to undo this?",
            "The wording on the repeat options is really not clear. Three of our managers made the same mistake this month.",
            "When I drag a repeating shift to another day it asks nothing and moves the whole series. I'd expect it to ask first.",
            "Why does changing one shift in a series change the past ones too? Now last month's schedule doesn't match what people actually worked.",
        ),
    ),
    IssueSpec(
        key="copy_week_schedule_request",
        title="Request: copy a whole week's schedule (schedule templates)",
        category="core_workflow", subcategory="scheduling", issue_type="feature_request", severity="low",
        pattern="steady", weight=75,
        subjects=("Feature request: copy schedule", "Copy last week?", "Suggestion - schedule templates",
                  "Can you add a way to duplicate a week", "Idea for the scheduler", "Repeat a full week"),
        bodies=(
            "Would it be possible to add a button to copy last week's schedule into next week? Our rota is 90% the same every week and we build it from scratch each time.",
            "Feature request: schedule templates. We'd like to save a 'standard week' for {site} and apply it with one click.",
            "Please add a way to copy a whole week, or at least a day, to another week. Copying shift by shift for {n_staff} people takes hours.",
            "We moved from another scheduling tool that let you repeat a full week. Are there any plans for something similar? It's the one thing our managers keep asking about.",
            "it would be great to copy the schedule forward 4 weeks at a time",
            "Love the product overall. One suggestion: when building the rota, let us duplicate a week including open shifts and notes. Right now we use repeating shifts as a workaround but they're fiddly.",
            "Is there a way to copy a schedule from one location to another? If not, please treat this as a request. We're opening a new site that mirrors {site}.",
            "Our managers would love to be able to copy the previous week and then just tweak it. Any chance this is on the roadmap?",
            "Could you make it possible to save a week as a template? Our {staff} work the same pattern nearly every week.",
        ),
    ),
    IssueSpec(
        key="break_deducted_twice",
        title="Unpaid break is deducted twice from timesheets",
        category="core_workflow", subcategory="time_tracking", issue_type="bug", severity="high",
        pattern="steady", weight=72,
        subjects=("Break deducted twice", "Breaks being taken off twice", "Timesheet break problem",
                  "Employees losing {minutes} minutes", "Wrong break deduction", "short on hours"),
        bodies=(
            "Our staff are losing an extra {minutes} minutes every shift. They clock their break in the app, and then the system takes off the automatic break on top of it.",
            "The automatic break rule is applied even when someone has already taken a break. So a 30 min lunch turns into an hour unpaid.",
            "Timesheets show two break deductions on most shifts since {when}. One is the real break they punched, the other is the auto-deduct.",
            "people are getting short paid because breaks come off twice. please fix asap",
            "I do the payroll at {company}. For the last pay period, every shift longer than 6 hours has the auto break AND the manual break. I've had to correct {count} timesheets by hand.",
            "Is the break setting supposed to stack? We set a {minutes} minute auto-deduct for shifts without a recorded break, but it's deducting it for everyone.",
            "I'm a {role} and my hours for last week are short by about 2 hours. Looking at my timesheet, each day has 'Break (auto)' and my own break. I only took one break a day.",
            "Break deduction is doubling up. This is a wage issue for us so it's quite urgent.",
            "Hello, the system is removing the pause two times. Employee make 30 minutes pause but the timesheet show one hour less.",
        ),
    ),
    IssueSpec(
        key="missed_clock_out_correction_tedious",
        title="Fixing a forgotten clock-out takes managers too many steps",
        category="core_workflow", subcategory="time_tracking", issue_type="friction", severity="medium",
        pattern="steady", weight=68,
        subjects=("Forgot to clock out", "Editing missed punches", "Missed clock out - too many steps",
                  "Timesheet corrections are painful", "Can employees fix their own punch?", "Correcting punches"),
        bodies=(
            "Every Monday I spend an hour fixing forgotten clock-outs. For each one I open the timesheet, find the day, open the punch, type the time, add a reason, save, then approve again. Can this be made quicker?",
            "Employees can't correct their own missed clock-out, they have to message me and I do it for them. With {n_staff} staff that's a lot of messages.",
            "When someone forgets to clock out the shift just runs until midnight and I have to edit it by hand. Is there no way to clock them out automatically at the scheduled end time?",
            "fixing missed punches is so tedious",
            "My team regularly forgets to clock out at the end of the night. Correcting it takes about 8 clicks per shift and the edit screen doesn't remember the reason I used last time. Any way to fix these in bulk?",
            "Our {staff} forget to clock out a few times a week. The timesheet then shows 14 or 15 hours and I have to chase them. It would help if the app asked them at the scheduled end time.",
            "Editing a punch on the phone is really fiddly. The time picker resets when you scroll, so I end up doing it on the computer later.",
            "Why does correcting one punch un-approve the whole week? I fix one clock-out and the entire timesheet has to be approved again.",
            "Every forgotten clock out means 5 minutes of admin for me. Multiply by {count} a week. Please make this easier.",
        ),
    ),
    IssueSpec(
        key="offline_punches_lost",
        title="Clock-ins recorded offline in the mobile app are lost",
        category="mobile", subcategory="offline", issue_type="data_issue", severity="critical",
        pattern="steady", weight=64, mobile=True,
        subjects=("Clock ins lost", "Punches disappeared", "Clock in without signal not syncing",
                  "Missing hours for warehouse staff", "Lost time entries", "where did my clock out go"),
        bodies=(
            "Our {staff} clock in at {site} where there's basically no signal. The app says 'saved, will sync later' but when they get back in range the punches are just gone.",
            "Hours are missing for people who clocked in without internet. The app showed them clocked in, but nothing appears on the timesheet.",
            "We lost a full day of punches for {count} employees at a site with bad reception. This is pay data, we can't just guess.",
            "clock ins without signal just vanish. happened twice this week",
            "We have a site in a basement where phones have no connection. Since the last app update, any clock-in done there never reaches the system, even hours later when the phone is back online.",
            "My clock out from last night is missing. I was in the parking garage with no bars when I did it. The app said it would upload later but it never did.",
            "Time entries recorded in airplane mode (we tested on purpose) are deleted when the app reconnects instead of being uploaded. Tested on {iphone} with app {old_app}.",
            "The queue in your app for punches made without a connection doesn't seem to work. We have drivers who clock in on the road and their punches go missing about half the time.",
            "Two of my {staff} have no hours at all for {weekday}. Both clocked in at {site}, where wifi is terrible. The app showed a green tick.",
        ),
    ),
    IssueSpec(
        key="publish_schedule_error",
        title="Publishing the schedule fails with 'Something went wrong'",
        category="performance", subcategory="errors", issue_type="bug", severity="high",
        pattern="steady", weight=60,
        subjects=("Error publishing schedule", "Can't publish", "Something went wrong", "Publish button error",
                  "Error when publishing rota", "Publish fails"),
        bodies=(
            "When I click Publish on next week's schedule I get 'Something went wrong. Please try again.' Tried five times. The staff can't see their shifts.",
            "Publishing fails with an error every time for {site}. Other locations publish fine.",
            "Getting a server error (500) when publishing. It happens on every browser I tried. Ref: {error_id}",
            "cant publish schedule, just says something went wrong",
            "Since {when} publishing the schedule for our largest location errors out. The page sits there for a while and then shows the red banner. Smaller sites are OK. Is there a limit on the number of shifts?",
            "I need to get the rota out by tonight and the publish button just gives an error. Please help.",
            "The publish step fails with an error page. The odd thing is that sometimes half the shifts get published and half don't, so now some people have been notified and others haven't.",
            "We see an error when publishing: 'Unexpected error, code {error_id}'. Happened to two different managers.",
            "Publish = error. Every time. {browser}. Our {staff} are asking where next week's shifts are.",
        ),
    ),
    IssueSpec(
        key="invitation_email_not_received",
        title="New employees don't receive their invitation email",
        category="account_admin", subcategory="users", issue_type="bug", severity="medium",
        pattern="steady", weight=56,
        subjects=("Invites not arriving", "New staff can't join", "Invitation email missing", "Resend invite doesn't work",
                  "New starters can't get in", "new hire never got the email"),
        bodies=(
            "I added {count} new starters yesterday and none of them got the invite email. Checked spam. Tried resend.",
            "New employees aren't receiving the invitation to download the app and set a password. This is holding up their first shifts.",
            "Resending an invite says 'Invitation sent' but the person never gets anything. Happens with gmail and hotmail addresses.",
            "invite emails not coming through for new hires",
            "We're bringing on a group of seasonal {staff} and the invitations just don't show up. Some of them have tried three times. Is there another way for them to get access?",
            "The link in the one invite that did arrive says it has expired, even though I sent it ten minutes earlier.",
            "We added new employees through the admin screen and they're stuck in 'invited' status. They say nothing has ever arrived.",
            "Our new {role} can't get into the app because the invitation never came. She checked junk, promotions, everything.",
            "Hi, is something wrong with your invite emails? Nobody I've added this week has received one.",
        ),
    ),
    IssueSpec(
        key="managers_see_other_locations_wages",
        title="Location managers can see pay rates of staff at other locations",
        category="account_admin", subcategory="permissions", issue_type="bug", severity="critical",
        pattern="steady", weight=45,
        subjects=("Managers can see everyone's pay", "Privacy issue - wages visible", "Pay rates showing to wrong people",
                  "Security concern", "Wage data visible to other managers"),
        bodies=(
            "One of our store managers just told me she can see hourly rates for employees at other locations. Her role is limited to her own store. This is a serious privacy issue.",
            "Location managers can see pay rates for the whole company in the labour cost view. We set them to 'own location only'. Please fix urgently.",
            "Managers who should only see their own team can open any employee's profile and see wages. We've double-checked how their roles are set up.",
            "privacy problem: wages visible to managers of other sites",
            "This is quite urgent for us. Our {role}s at {site} can see the salaries of staff in other locations when they run the labour report. HR is very unhappy.",
            "After the last update, the 'hide pay rates' option seems to be ignored for managers. They see everything.",
            "We found out during an audit that a supervisor could download pay data for employees outside their department. That should not be possible for that role.",
            "The 'View wages: own location' option doesn't work. A manager at {site} downloaded a file containing rates for {count} employees who aren't on his team.",
        ),
    ),
    IssueSpec(
        key="subscription_charged_twice",
        title="Customers are charged twice (or for the wrong amount) for their subscription",
        category="billing", subcategory="charges", issue_type="bug", severity="high",
        pattern="steady", weight=48,
        subjects=("Charged twice", "Double charge on our card", "Duplicate payment", "Billing error",
                  "Why two payments this month?", "Refund for duplicate payment"),
        bodies=(
            "We were charged twice this month: two identical payments of {amount} on the same day. Please refund one of them.",
            "Our credit card statement shows two payments to Shiftwise for the same invoice. Is this a mistake?",
            "Looks like your system billed us twice for the {month} subscription. Both payments went through. Our finance team needs this reversed.",
            "double charged again",
            "We upgraded our plan mid-month and were charged the full price for the new plan plus the old plan, instead of the difference.",
            "Got two receipts for the same period, both for {amount}. We only have one account.",
            "After our card expired we updated it, and then the retry took the money twice, {amount} each. Please check.",
            "You're still charging us for employees we deactivated in {month}. We're paying for {count} people who left.",
        ),
    ),
    IssueSpec(
        key="labour_report_mismatch",
        title="Labour cost report totals don't match the approved timesheets",
        category="data_reporting", subcategory="reports", issue_type="data_issue", severity="high",
        pattern="steady", weight=52,
        subjects=("Labour report numbers wrong", "Report doesn't match timesheets", "Labour costs don't reconcile",
                  "Report totals", "Which number is correct?", "Month end numbers"),
        bodies=(
            "The labour cost report for {month} shows {amount} but adding up the approved timesheets gives a different number. Which one is right?",
            "Our weekly labour report is consistently off from the timesheets. Usually by a few percent, sometimes more. Our CFO has noticed.",
            "The hours in 'Hours by location' don't match the timesheets for the same date range. About {hours} hours difference for {site}.",
            "report totals dont match timesheets",
            "I'm preparing our month-end numbers and I can't reconcile the labour report with what we sent to {payroll}. It looks like the report leaves out shifts that were edited after approval.",
            "Why does the scheduled vs actual report show actual hours that are higher than what's on the timesheets? I checked a few employees and they don't add up.",
            "The cost column in the labour report seems to use old pay rates for some people. We updated rates on the 1st.",
            "I run the same report twice, same filters, and get two different totals. Is the data still being processed or something?",
            "Our finance team can't trust the labour numbers anymore. The report for {site} says {hours} hours more than the timesheets for the same week.",
        ),
    ),
    IssueSpec(
        key="large_export_times_out",
        title="Large timesheet exports time out",
        category="performance", subcategory="timeouts", issue_type="bug", severity="medium",
        pattern="steady", weight=48,
        subjects=("Export never finishes", "Can't download timesheets", "Download keeps failing",
                  "Gateway Timeout", "Year-end data download"),
        bodies=(
            "Downloading timesheets for the whole company for a month fails every time. Smaller date ranges work.",
            "When I try to download the quarterly file it spins for a couple of minutes and then I get 'Gateway Timeout'.",
            "The timesheet download for {n_staff} employees just dies after a while. No email, no file.",
            "download failed. 4th try.",
            "We need a full year of hours for our auditors. The download page gives up no matter what format I choose. Is there another way to get this data?",
            "It says 'Preparing your file...' and then the page gives a 504. If I do one location at a time it works, but we have {count} locations.",
            "Getting the payroll summary for more than two weeks at a time doesn't work anymore, it just gives up after a minute or two.",
            "Is there a size limit on downloads? Anything over about a month of data ends in an error after waiting ages.",
        ),
    ),
    IssueSpec(
        key="sessions_expire_too_quickly",
        title="Users are signed out too often",
        category="authentication", subcategory="session", issue_type="friction", severity="medium",
        pattern="steady", weight=50,
        subjects=("Keeps signing me out", "Signed out constantly", "Have to log in again every time",
                  "Annoying logouts", "Stay signed in?"),
        bodies=(
            "The web app signs me out every 15-20 minutes, even when I'm actively using it. I lose whatever I was typing.",
            "Our managers are complaining they have to log in again several times a day. Can you make it last longer?",
            "The tablet at {site} that staff use to clock in signs itself out constantly, so every employee has to ask for the manager password to get back in.",
            "keeps kicking me out!!!",
            "Is there a way to stay signed in? I use Shiftwise all day and I get thrown back to the login page several times, usually in the middle of building the rota.",
            "I was in the middle of editing next week's shifts and got signed out. All my changes were gone.",
            "The app asks me to log in again almost every time I open it. My colleagues on Android say the same.",
            "It seems to forget me after a few minutes now. It used to last all day.",
        ),
    ),
    IssueSpec(
        key="sms_verification_code_delayed",
        title="Two-factor SMS codes arrive late or not at all",
        category="authentication", subcategory="two_factor", issue_type="bug", severity="high",
        pattern="steady", weight=42,
        subjects=("Not receiving verification code", "Login code never arrives", "Can't log in - no text message",
                  "Login code delayed", "Text message code"),
        bodies=(
            "I'm not getting the text message with the login code. Waited 10 minutes, asked for a new one, nothing.",
            "The verification code arrives about 5 minutes after I ask for it, by which time it has expired.",
            "Several of our managers in the UK aren't receiving the code by text, so they can't get in at all.",
            "no code by text, cant get in",
            "Since {when} the security codes by text are very unreliable for us. Sometimes they come instantly, sometimes half an hour later.",
            "I got three codes at once, twenty minutes after asking, and none of them worked.",
            "Our account owner can't get in because the code never arrives on her phone. She's the only admin and she's locked out.",
            "Are the text message codes broken? Tried with two different phones on different carriers.",
        ),
    ),
    IssueSpec(
        key="chat_integration_stops_posting",
        title="Slack/Teams integration silently stops posting schedule updates",
        category="integrations", subcategory="chat", issue_type="bug", severity="medium",
        pattern="steady", weight=38,
        subjects=("{chat} integration stopped", "No more messages in {chat}", "{chat} channel not updating",
                  "Open shifts not posted to {chat}"),
        bodies=(
            "Our {chat} channel stopped getting the 'schedule published' and open shift messages. Nothing since {when}.",
            "The {chat} connection keeps disconnecting itself. I reconnect it, it works for a day or two, then it silently stops.",
            "Open shift posts aren't showing up in {chat} anymore. Your integrations page still says 'Connected'.",
            "{chat} posts stopped again",
            "We use {chat} so our {staff} can pick up open shifts. For the last week nothing has been posted. We tried removing and adding the app, no luck.",
            "The bot in {chat} posts shift changes for some locations but not others. All are set up the same way.",
            "We get 'token revoked' next to {chat} on the integrations page every few days and have to authorise it again.",
            "Messages to {chat} are delayed by hours. By the time an open shift shows up someone has already taken it in the app.",
        ),
    ),
    IssueSpec(
        key="employee_import_errors_unclear",
        title="Employee CSV import errors don't say what is wrong",
        category="import_export", subcategory="import", issue_type="ux_confusion", severity="medium",
        pattern="steady", weight=42,
        subjects=("Import failing", "Staff list upload error", "What does this error mean?", "Can't import staff list",
                  "Template question", "Uploading employees"),
        bodies=(
            "I'm trying to import our staff list and it says 'Row 14: invalid value'. Invalid how? The row looks the same as the others.",
            "The import rejected the whole file with 'Import failed' and no explanation. Is there a list of the columns it expects?",
            "Uploading employees from Excel: it said 0 of {count} imported. No idea what's wrong.",
            "import error 'unexpected format' - what format does it want?",
            "I downloaded your template, filled it in and uploaded it, and got a bunch of errors about the date column. I used the same format as the example. Does it need to be month/day or day/month?",
            "The import page says some rows were skipped but doesn't say which ones or why. I had to compare lists by hand to find out who was missing.",
            "It's really unclear what the import wants in the 'position' column: names, ids? The error just says 'unknown position'.",
            "We tried to upload {count} new hires at once. The file has accents in some names and those rows fail with a generic error.",
        ),
    ),
    IssueSpec(
        key="schedule_pdf_cuts_off_weekend",
        title="Printed / PDF schedule cuts off the last days of the week",
        category="import_export", subcategory="export", issue_type="bug", severity="low",
        pattern="steady", weight=34,
        subjects=("PDF schedule cut off", "Printing the schedule", "Print view missing days", "Schedule PDF problem",
                  "weekend missing from printout"),
        bodies=(
            "When I print the weekly schedule, Saturday and Sunday are cut off the right side of the page.",
            "The PDF of the schedule only shows Monday to Friday. We put it up on the staff room wall, so the weekend is kind of important.",
            "Print layout is broken: names are cut short and the last column is missing. Tried landscape, same thing.",
            "schedule pdf cuts off the weekend",
            "Minor thing but annoying: the downloaded PDF schedule cuts long shift notes in half and drops anything after Friday. We print it for the {staff} who don't use the app.",
            "Saving the schedule as PDF gives me a file where the columns overlap and you can't read the times.",
            "Could you check the print view? With more than about 25 employees it spills onto a second page that is blank.",
            "The printed rota is missing the last two days since your last update.",
        ),
    ),
    IssueSpec(
        key="availability_moved_after_redesign",
        title="Users can't find where to set availability after the navigation redesign",
        category="ui_ux", subcategory="navigation", issue_type="ux_confusion", severity="medium",
        pattern="steady", weight=40,
        subjects=("Where did availability go?", "Can't find availability", "New layout", "Menu changed?",
                  "Availability screen gone", "where is it now"),
        bodies=(
            "Since the new design I can't find where my employees enter their availability. It used to be under their profile.",
            "Where did the availability screen go? None of our staff can find it in the app anymore.",
            "The new menu is confusing. I spent 15 minutes looking for availability and time-off settings.",
            "where is availability now??",
            "Our employees keep telling me they can't update their availability since the redesign. I've looked myself and honestly can't find it either. Has it been removed?",
            "I finally found availability tucked under 'My preferences' > 'Work pattern'. That is not where anyone would look. Three people asked me today.",
            "The redesign moved a lot of things around. Availability in particular seems to have vanished from the app menu.",
            "Our managers can't work out where to approve availability changes in the new layout. A short note in the app about what moved would have helped.",
        ),
    ),
    IssueSpec(
        key="translations_incomplete",
        title="Parts of the app are untranslated or mix languages",
        category="ui_ux", subcategory="localization", issue_type="bug", severity="low",
        pattern="steady", weight=28,
        subjects=("Translation missing", "App half in English", "Wrong language", "{lang} version",
                  "Buttons in English"),
        bodies=(
            "Our app is set to {lang} but half the buttons in the schedule are still in English.",
            "The {lang} version has mistakes: the button for clocking out says 'clock in'. Our staff are confused.",
            "Some notifications arrive in English even though our company language is {lang}.",
            "{lang} version is incomplete, lots of english",
            "Our employees mostly don't speak English. Since the last update many screens in the app show English text again. Can you fix the {lang}?",
            "Dates in the {lang} version are shown month first like in the US, which makes schedules confusing for our team.",
            "Minor: the time-off screen mixes {lang} and English in the same sentence.",
            "Several labels in the app are not in {lang}. Also the weekday abbreviations are in English.",
        ),
    ),
    IssueSpec(
        key="dark_mode_request",
        title="Request: dark mode for the apps",
        category="ui_ux", subcategory="layout", issue_type="feature_request", severity="low",
        pattern="steady", weight=30,
        subjects=("Dark mode?", "Feature request: dark theme", "Suggestion", "Night mode for the app", "Idea"),
        bodies=(
            "Any plans for a dark mode? Our night shift staff say the app is blinding at 3am.",
            "Feature request: please add a dark theme to the app. Everything else on my phone is dark.",
            "Would love a dark mode. That's it, that's the ticket :)",
            "dark mode please",
            "Our security guards work nights and use the app in dark places. A dark mode would really help them. Is this on the roadmap?",
            "Can the app follow the phone's dark setting? If not, consider this a request.",
            "Small suggestion from our team: a dark theme for the web app too. We have schedulers who stare at it all day.",
            "Our {staff} keep asking for a night mode in the app. Any chance?",
        ),
    ),
    IssueSpec(
        key="schedule_not_screen_reader_accessible",
        title="Schedule screens are not usable with a screen reader",
        category="ui_ux", subcategory="accessibility", issue_type="bug", severity="medium",
        pattern="steady", weight=27,
        subjects=("Accessibility problem", "VoiceOver can't read the schedule", "Blind employee can't use the app",
                  "Accessibility of the app"),
        bodies=(
            "One of our employees is blind and uses VoiceOver. The schedule screen reads out 'button, button, button' with no shift details.",
            "The schedule grid doesn't work with JAWS. It can't read the shift times at all.",
            "Our accessibility officer flagged that the clock-in button has no label for assistive tech and the colours in the schedule are too faint to read.",
            "voiceover doesnt read the shifts",
            "We have a legal obligation to provide accessible tools to our staff. With NVDA the week view is impossible to move through with the keyboard; focus jumps to the top of the page after each shift.",
            "Using TalkBack on Android, the shift list says 'unlabelled' for each shift. Our employee cannot tell when she's working.",
            "Open vs assigned shifts are shown only by colour, which is a problem for our colour-blind manager. Could there be a pattern or label too?",
            "Is the app tested with VoiceOver or TalkBack? Our employee with low vision can't use the schedule page.",
        ),
    ),
    IssueSpec(
        key="api_docs_pagination_rate_limits",
        title="API documentation doesn't explain pagination, rate limits or errors",
        category="integrations", subcategory="api", issue_type="documentation_gap", severity="low",
        pattern="steady", weight=27,
        subjects=("API documentation question", "API pagination", "Rate limits?", "Developer docs",
                  "Timesheets endpoint"),
        bodies=(
            "Your API docs don't say how pagination works on the timesheets endpoint. We only get 100 records back and there's no next link in the response that I can see.",
            "Where are the API rate limits written down? We're getting 429s and don't know what the limit is.",
            "The API reference still describes the v1 shifts endpoint, but v1 returns 410 Gone. Is there a v2 page somewhere?",
            "api docs missing info on paging",
            "I'm a developer building an integration for {company}. The docs for the timesheets API have no example of filtering by date, and the field names in the examples don't match what the API returns (start vs start_time).",
            "Is there an up-to-date guide for verifying webhook signatures? The article I found refers to a header that doesn't exist anymore.",
            "The API docs say tokens last 30 days but ours seem to expire after 24 hours. Which is right?",
            "Could you document the API error codes? We get 'E_SCOPE' on the locations endpoint and it isn't mentioned anywhere.",
        ),
    ),
    IssueSpec(
        key="time_clock_setup_articles_outdated",
        title="Help articles for time clock setup (geofence, kiosk) are outdated",
        category="account_admin", subcategory="settings", issue_type="documentation_gap", severity="medium",
        pattern="steady", weight=27,
        subjects=("Help article outdated", "Instructions don't match the app", "Kiosk setup - article wrong",
                  "Setting up clock-in radius", "Guide doesn't match"),
        bodies=(
            "The help article on setting up a clock-in radius shows screens that don't exist anymore. The 'Locations > Clock-in rules' menu isn't there.",
            "I followed your guide for the kiosk tablet step by step and got stuck at step 4: there's no 'Kiosk mode' toggle where the article says.",
            "Your help centre article about time clock settings is out of date since the redesign. Please update it, we're trying to roll this out to {count} sites.",
            "the kiosk setup guide is outdated",
            "We're setting up the clock-in radius for our new location. The knowledge base says to go to Settings > Time Clock, but in our account Settings doesn't have that section. Is the article for a different plan?",
            "The video about clock-in settings is from two years ago and the screens look completely different. Very hard to follow.",
            "None of the help articles explain what the 'strict' and 'flexible' clock-in options actually do. We had to guess.",
            "Where are the current instructions for setting up a shared clock-in device? Everything I find refers to the old app.",
        ),
    ),
    IssueSpec(
        key="invoice_missing_vat_number",
        title="Invoices miss the VAT number or show an old billing address",
        category="billing", subcategory="invoices", issue_type="bug", severity="low",
        pattern="steady", weight=27,
        subjects=("Invoice missing VAT number", "Invoice details wrong", "Wrong address on invoice",
                  "Invoice correction needed", "Tax ID not on invoice"),
        bodies=(
            "Our VAT number is saved in the billing settings but it doesn't appear on the invoice PDF. Our accounts team can't process it without it.",
            "The invoices still show our old billing address even though we updated it two months ago.",
            "The {month} invoice is missing our tax ID and company registration number. It was there on previous invoices.",
            "vat number not on invoice",
            "For the reverse charge we need our VAT ID on the invoice. We entered it on the billing page, saved, and the new invoice still doesn't have it. Can you regenerate it?",
            "The invoice PDF shows the name of our parent company, not our entity. We changed this in settings and it didn't update.",
            "The invoice charges VAT at 20% although we entered a valid EU VAT number. It should be reverse charge.",
            "Updated billing address doesn't carry over to invoices. This is the third month in a row.",
        ),
    ),
    IssueSpec(
        key="dashboard_shows_yesterday",
        title="Dashboard widgets show yesterday's data until mid-morning",
        category="data_reporting", subcategory="dashboards", issue_type="bug", severity="low",
        pattern="steady", weight=30,
        subjects=("Dashboard not updating", "Dashboard numbers old", "Today's dashboard empty",
                  "Who's working widget wrong", "Home screen stats"),
        bodies=(
            "The 'Who's working now' box on the dashboard shows people from yesterday's shifts until about 10am.",
            "Dashboard numbers don't update until late morning. The labour % widget shows zero for today until then.",
            "The dashboard chart for this week is empty even though people have been clocking in all morning.",
            "dashboard stuck on yesterday",
            "Our dashboard seems to lag behind a lot. When I refresh at 9am it still shows yesterday's attendance. By lunchtime it catches up. Is there a delay on the data?",
            "The late arrivals widget lists people as late who clocked in on time, but only early in the day. Later it corrects itself.",
            "Our manager dashboard shows the wrong day's sales vs labour graph in the morning. We're in {tz}.",
            "Is the dashboard running on UTC? Numbers for today only start showing up around {time}.",
        ),
    ),
    IssueSpec(
        key="sick_note_upload_fails",
        title="Uploading a doctor's note to a sick leave request fails",
        category="core_workflow", subcategory="files", issue_type="bug", severity="low",
        pattern="steady", weight=27, mobile=True,
        subjects=("Can't attach doctor's note", "Upload fails on sick leave", "Attachment error",
                  "Photo won't upload", "Medical certificate"),
        bodies=(
            "When I try to add a photo of my doctor's note to my sick leave, it says 'Upload failed'.",
            "Staff can't attach documents to their absence requests from the app. The spinner goes forever and then nothing.",
            "Adding a PDF to a leave request works on the web but on the phone it fails every time.",
            "sick note wont upload",
            "One of my {staff} needs to send us a medical certificate through the app for her sick leave. The photo gives an error about the file size, but it's just a normal photo from her {iphone}.",
            "The 'Add attachment' button on time-off requests does nothing on Android.",
            "Photos taken with the camera from inside the app fail to upload, photos from the gallery work. Weird.",
            "Attachments on leave requests stopped working for us, tried JPG and PDF.",
        ),
    ),
    IssueSpec(
        key="ios_app_crash_on_clock_in",
        title="iOS app 7.2 crashes when tapping Clock in",
        category="mobile", subcategory="ios", issue_type="bug", severity="critical",
        pattern="emerging", weight=0, mobile=True,
        subjects=("App crashing", "iPhone app crashes on clock in", "URGENT: staff can't clock in on iPhone",
                  "App closes when I clock in", "New update crashes", "Crash after update", "app keeps closing"),
        bodies=(
            "Since the update yesterday the app closes as soon as I tap Clock In. {iphone}, {ios}.",
            "URGENT: none of our iPhone users can clock in. The app crashes the moment they press the button. Android is fine.",
            "New app version ({new_app}) crashes on clock-in. Tried deleting and reinstalling.",
            "app crashes when i clock in. iphone",
            "After updating to {new_app} this week the Shiftwise app on iPhone shuts down instantly when you tap Clock in. It happens to {n_people} people at {site} so far. They're clocking in on the manager's phone for now.",
            "The app crashes on clock in after the latest update. It opens fine, you see the schedule, you hit clock in and boom, back to the home screen. {iphone} on {ios}.",
            "Is there a known issue with the latest iPhone app? Clocking in crashes it every time. Clocking out is fine, oddly enough.",
            "Our whole {role} team on iPhones can't start shifts since the update. The app just quits. We're writing times on paper.",
            "Steps: open app > tap Clock in > app closes. Version {new_app}, {iphone}, {ios}. Started after updating from the App Store on {weekday}.",
        ),
    ),
    IssueSpec(
        key="app_shows_stale_schedule",
        title="Mobile app shows an outdated schedule until it is restarted",
        category="mobile", subcategory="app_general", issue_type="bug", severity="medium",
        pattern="steady", weight=55, mobile=True,
        subjects=("App showing old schedule", "Schedule not refreshing in app", "Shift changes not visible on phone",
                  "App out of date?", "pull to refresh not working"),
        bodies=(
            "The app still shows my old shift times even though my manager changed them on {weekday}. I only see the change if I force close the app.",
            "Employees see last week's version of the schedule on their phones. Pull to refresh doesn't do anything.",
            "The phone app doesn't update when the schedule changes. Two people came in at the wrong time because of this.",
            "app shows old shifts until i close it",
            "Is there a delay between publishing and the app? My team see the updated schedule on the website but the app shows the old one, sometimes for hours.",
            "Pulling down to refresh in the app doesn't refresh. I have to log out and back in to see new shifts.",
            "The shift I swapped still shows on my phone as mine, the website says it's {coworker}'s.",
            "The app keeps showing an out-of-date rota. Happens on both {iphone} and {android_device} in our team.",
        ),
    ),
    IssueSpec(
        key="password_reset_link_expired",
        title="Password reset links report that they have expired",
        category="authentication", subcategory="password_reset", issue_type="bug", severity="medium",
        pattern="steady", weight=46,
        subjects=("Password reset link expired", "Can't reset my password", "Reset link not working",
                  "Forgot password email", "link says expired"),
        bodies=(
            "I clicked the reset link within a minute of getting the email and it says the link has expired.",
            "Resetting my password doesn't work. Every link I get says 'This link is no longer valid'.",
            "Our employees can't reset their passwords because the link in the email always says expired. We've had to set new ones for them from the admin side.",
            "reset link says expired",
            "I forgot my password and tried the reset three times. Every time the link opens a page saying it has expired. I'm using {browser} on my work laptop.",
            "The reset email arrives fine but opening the link on my phone takes me to an 'expired' page. Opening it on the computer works.",
            "When staff use 'forgot password' in the app, the link they get is already expired. This is blocking new starters.",
            "Forgot password flow is broken: link expired immediately, tried in incognito too.",
        ),
    ),
    IssueSpec(
        key="duplicate_notification_emails",
        title="Schedule notification emails are sent several times",
        category="notifications", subcategory="email", issue_type="bug", severity="low",
        pattern="steady", weight=30,
        subjects=("Getting the same email 5 times", "Duplicate emails", "Too many schedule emails",
                  "Lots of identical emails from Shiftwise", "same message over and over"),
        bodies=(
            "Every time the schedule is published, I get the same email three or four times.",
            "Our employees are getting duplicate 'Your schedule has changed' emails. Some got {count} copies of the same message.",
            "The weekly schedule email comes twice every Sunday evening.",
            "getting every email from you twice",
            "A few staff complained that they receive several identical emails for one change. It's making some of them block you entirely, which means they miss real changes.",
            "Each shift change sends its own email instead of one summary. When I edit 20 shifts, people get 20 emails.",
            "The daily summary arrives in my inbox multiple times, sometimes hours apart.",
            "Why do I get the 'open shift available' email again and again for the same shift?",
        ),
    ),
)
ISSUES_BY_KEY: dict[str, IssueSpec] = {spec.key: spec for spec in ISSUES}

# Subjects that say nothing about the problem.
VAGUE_SUBJECTS: tuple[str, ...] = (
    "Help!!", "Problem", "URGENT", "Question", "Issue", "Shiftwise", "Support request", "Help please",
    "Not working", "Quick question", "problem with the app", "HELP", "Urgent help needed", "Issue with Shiftwise",
    "Can someone call me", "Bug?", "Complaint", "Hello", "Ongoing problem", "Still broken",
)
# How a second, unrelated problem is introduced in the same message.
SECOND_ISSUE_CONNECTORS: tuple[str, ...] = (
    "Also, a second problem:", "And while I have you:", "Separate issue:", "PS:", "One more thing.",
    "Unrelated, but", "Also -", "Another thing we noticed:", "On top of that,", "Second thing:",
    "Oh and", "Not sure if related, but",
)


# --- tickets that are not product issues -------------------------------------------------------------
# reason -> entries of (subjects separated by "|", body, the agent's answer). Some are deliberately
# close to issue wording (an export how-to, an invoice question) without describing a defect.

NON_ISSUES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "billing_question": (
        ("Invoice copy|Invoice for {month}|Invoice", "Could you send me a copy of our invoice for {month}? Our accounts team needs it for their records.",
         "Of course, I've attached the {month} invoice. You can also download all invoices under Settings > Billing."),
        ("Invoice|Resend invoice please", "Can you resend the last invoice to {email}? The original went to someone who has left.",
         "Done, I've resent it to that address. You can change who receives invoices under Settings > Billing."),
        ("Pricing question|More users", "How much would it cost to add another {count} employees to our plan?",
         "Happy to help! I've passed this to our billing team, who'll send you the numbers today."),
        ("Upgrade question|Plans", "What's the difference in price between the Business and Enterprise plans? We're thinking of upgrading.",
         "Great question. Here's our plan comparison, and I've asked your account manager to reach out with a quote."),
        ("Renewal|Annual billing?", "Our renewal is coming up in {month}. Can we switch to annual billing, and is there a discount for that?",
         "Yes, annual billing comes with two months free. I've asked our billing team to prepare it for your renewal."),
        ("Payment method|Change card", "We need to change the credit card on file. Where do I do that?",
         "You can update your payment method under Settings > Billing > Payment method. Let me know if you get stuck."),
        ("Receipt needed|Receipt", "Can I get a receipt for the payment we made in {month}? I need one that shows our company address.",
         "I've attached the receipt. To add your address to future receipts, update it under Settings > Billing."),
        ("Non-profit discount?|Pricing", "Do you offer discounts for non-profits? We're a charity with {n_staff} staff and volunteers.",
         "We do! I've passed your details to our billing team, who'll confirm the discount by email."),
        ("VAT question|Pricing question", "Is VAT included in the price on your website?",
         "Prices on our website exclude VAT. It's added at checkout based on your billing country."),
        ("Quote for 250 users|Quote request", "Can you send us a quote for 250 users on annual billing? Procurement needs it before they can approve.",
         "Here's a quote for 250 users on annual billing. It's valid for 30 days."),
        ("Paying by bank transfer|Payment method", "We'd like to pay by bank transfer instead of card from next year. Is that possible?",
         "Yes, that's possible on annual plans. I've asked our billing team to switch you over at renewal."),
        ("Cancel subscription|Cancellation", "Please cancel our subscription at the end of the current term. We're closing {site}.",
         "Sorry to see you go. I've scheduled the cancellation for the end of your current term."),
        ("Invoice higher this month|Question about our bill", "Our invoice this month is higher than last month. Is that because we added people? Just want to understand it before I approve it.",
         "Yes, that's right: you added active employees during the month, and the invoice includes them pro rata. I've attached a breakdown."),
        ("Past invoices|Invoices for our auditor", "Where can I download past invoices? Our auditor wants all of last year's.",
         "All invoices are under Settings > Billing > Invoice history, and you can download them as one zip file."),
        ("Price change at renewal?|Renewal", "Will the price change when our contract renews in {month}?",
         "Your current price is locked until your renewal date. Your account manager will send the renewal quote a month before."),
        ("Yearly payments|Billing", "Who do I talk to about moving from monthly to yearly payments?",
         "That's us! I've asked our billing team to send you the yearly option."),
    ),
    "how_to": (
        ("Export timesheets|How do I export hours?", "How do I export last month's timesheets to Excel? I need to send them to our accountant.",
         "Sure! Open Timesheets, pick last month as the date range, and use Export > Excel in the top right."),
        ("Overtime rules|Question", "Is it possible to set different overtime rules for part-time staff?",
         "Yes: create a separate pay rule under Settings > Pay rules and assign it to your part-time employees."),
        ("Permissions question|Shift lead access", "How can I let a shift lead approve time off without making them a full admin?",
         "Give them the Supervisor role and tick 'Approve time off' in its permissions. Here's a guide: https://help.shiftwise.example/articles/{article}"),
        ("Question", "Can employees see who else is working on their shift?",
         "Yes, if you turn on 'Show coworkers' under Settings > Schedule."),
        ("Split shifts|How to set up split shifts", "What's the best way to set up a split shift?",
         "Add two shifts for the same person on the same day; the timesheet will show them as one split shift."),
        ("New location|Adding a location", "How do I add a new location? We're opening {site} next month.",
         "Congratulations on the new site! Go to Settings > Locations > Add location. Here's the guide: https://help.shiftwise.example/articles/{article}"),
        ("Quick question", "Quick question: can I schedule someone at two locations on the same day?",
         "Yes, just add the employee to both locations and they'll appear in both schedules."),
        ("Printing the schedule|Print rota", "How do I download the schedule as a PDF so I can print it for the notice board?",
         "In the schedule, click the print icon next to the week picker and choose PDF."),
        ("Scheduled hours|Quick question", "Is there a way to see how many hours someone is already scheduled this week before I add another shift?",
         "Yes, hover over the employee's name in the schedule to see their hours for the week."),
        ("Clock in from tablet only?|Time clock question", "Can I set things up so staff can only clock in from the tablet in the break room?",
         "Yes, turn on 'Clock in from approved devices only' and register the tablet as a shared device."),
        ("Connecting {payroll}|Integration question", "How do I connect {payroll}? I don't see it in the list.",
         "{payroll} is available on the Business plan and above; you'll find it under Settings > Integrations once it's enabled."),
        ("Start of week|Settings question", "Where can I change the first day of the week from Sunday to Monday?",
         "Under Settings > Company > Week starts on."),
        ("Archiving leavers|Employee who left", "How do we archive an employee who has left without losing their timesheets?",
         "Archive them from their profile; their timesheets and reports stay available."),
        ("Two approvers?|Time off question", "Can time-off requests be approved by two people?",
         "Not today, but I've noted your interest. Many customers use a supervisor plus an admin notification instead."),
        ("Setting up {chat}|{chat} question", "How do I set up the {chat} connection? Do I need to be an admin in {chat} as well?",
         "Yes, you'll need admin rights in {chat}. Then go to Settings > Integrations > {chat} and follow the steps."),
        ("breaks|How do I add a break", "how do i add a break to a shift",
         "Open the shift, click 'Add break' and set the length. You can also set default breaks per position."),
        ("Late clock-ins report|Reports question", "Is there a report that shows late clock-ins for the whole month?",
         "Yes, Reports > Attendance shows late clock-ins; set the range to the whole month."),
        ("Export shifts for the year|Data for the year", "We'd like to export all shifts for {site} for the year into a spreadsheet. What's the quickest way?",
         "Use Reports > Shifts, filter by that location and the year, then Export > CSV."),
        ("Editing approved timesheets|Audit question", "Can managers edit a timesheet after it has been approved, and does it show who changed it?",
         "They can if they have the permission, and every change is recorded in the timesheet's history."),
        ("Access for assistant manager|Permissions", "How do I give my assistant manager access to the schedule but not to wages?",
         "Use the Manager role and untick 'View wages' in its permissions."),
    ),
    "account_change": (
        ("Change account owner|New account owner", "Please change the account owner from {person} to me. {person} has left the company.",
         "Happy to help. For security, could you confirm this from another admin's email address, or ask {person}'s manager to confirm?"),
        ("Company name change|Update company name", "We've changed our company name to {company} Group. Can you update it on our account?",
         "Done! Your account now shows the new name. Invoices from the next billing cycle will use it too."),
        ("Add users|More seats", "Can you add {count} more users to our plan from next month?",
         "Done, the extra users start with your next billing cycle."),
        ("Remove users|Fewer seats", "Please remove {count} users from our plan, we've scaled down for the winter.",
         "I've reduced your plan from the next billing date. Archived employees don't count towards it."),
        ("Close our account|Cancellation", "We'd like to close our account at the end of the month. Please confirm what happens to our data.",
         "I've scheduled the closure. You can export your data until then; after 30 days it's deleted."),
        ("GDPR request|Data deletion request", "GDPR request: please delete all personal data for a former employee, {person}. She left in {month}.",
         "I've processed your request; you'll get a confirmation email once the data has been deleted."),
        ("Billing contact|Update billing contact", "Please update our billing contact to {email}.",
         "Done! Invoices will go to the new address from now on."),
        ("Merge accounts|Two accounts", "We have two Shiftwise accounts ({site} was set up separately). Can you combine them into one?",
         "We can do that. I've asked our onboarding team to schedule the merge with you."),
        ("Account transfer|Parent company", "Please transfer our account to our parent company. I'm happy to send whatever paperwork you need.",
         "I've sent you our transfer form. Once it's signed we'll move everything across."),
        ("Admin email change|Login email", "Can you change the email address on my admin login? It should be {email} now.",
         "Done! You'll get a confirmation at the new address."),
        ("Delete my account|Left the company", "Please delete my account, I no longer work at {company}.",
         "I've asked your company's admin to remove your account, as they manage it."),
        ("New address|Update our details", "We've moved offices. Please update the address on our account to 42 Harbour Road, Unit 3.",
         "Done! The new address will show on your next invoice."),
    ),
    "thanks": (
        ("Thanks!|Thank you", "Thanks for the quick help yesterday, all sorted now!", "Glad to hear it! Have a great day."),
        ("Re: your ticket|All sorted", "That fixed it, you can close this. Cheers!", "Great, closing this now. Have a good one!"),
        ("Following up|Re: Support request", "Just following up on ticket #{ref}: it's working now, thank you.", "Thanks for letting us know!"),
        ("Thank you", "Thank you {agent_first}, really appreciate you going the extra mile.", "You're welcome, happy to help."),
        ("thx|Re: Support request", "thx!", "Anytime!"),
        ("All good now|Re: your ticket", "All good now, thanks for your patience.", "Glad it's working. Have a great day!"),
        ("Thanks|Onboarding call", "Great onboarding call today, thanks to your team.", "Thanks, we enjoyed it too!"),
        ("Never mind|Following up", "Following up on my earlier email: never mind, I figured it out. Thanks!", "No problem, glad you got there!"),
        ("Love the new schedule view|Feedback", "Just wanted to say the new schedule view is great. Our managers love it.", "That's lovely to hear, I'll pass it on to the team!"),
        ("Import worked|Thanks", "Confirming the import went through fine this time. Thanks!", "Great news, thanks for confirming."),
        ("Thanks {agent_first}!|Thank you", "Thanks {agent_first}! That's exactly what I needed.", "You're welcome!"),
        ("Received|Re: Invoice", "Received, thank you.", "Thanks for confirming!"),
    ),
    "other": (
        ("Research request|Student project", "I'm a student writing a thesis on workforce management software. Would someone from your team answer five questions?",
         "Thanks for thinking of us! I've passed your request to our marketing team."),
        ("Job application|Careers", "Are you hiring? I'd love to apply for a support role.",
         "Thanks for your interest! All open roles are on our careers page."),
        ("Sales enquiry|Demo request", "We're evaluating Shiftwise for our group of {count} restaurants. Can someone from sales call me?",
         "Thanks for reaching out! I've passed your details to our sales team, who'll call you today."),
        ("Security questionnaire|Vendor review", "Can you send us your latest SOC 2 report and answers to our security questionnaire? Our IT team needs them for vendor review.",
         "Thanks! Our security team will send the documents over this week."),
        ("Question about data hosting|DPA", "Where is our data hosted, and do you have a data processing agreement we can sign?",
         "Your data is hosted in the EU and US regions; I've attached our standard DPA."),
        ("Call me back|Callback please", "Please call me back on {phone} when you have a moment.",
         "Thanks, I've booked a call for this afternoon."),
        ("Please ignore|Wrong address", "Sorry, wrong address. I meant to send this to our accountant, please ignore.",
         "No problem, closing this one."),
        ("Partnership|Integration partnership", "Partnership enquiry: we make time clock hardware and would like to integrate with Shiftwise.",
         "Thanks for reaching out! I've forwarded this to our partnerships team."),
        ("Who set up my account?|Email from Shiftwise", "I received an email from Shiftwise but I don't think I have an account. Who set this up?",
         "It looks like your employer invited you. Your manager can tell you more."),
        ("test|Test", "Testing, please ignore.", "Received!"),
        ("Conference|HR Tech", "Will you be at the HR Tech conference this year? We'd love to meet.",
         "We will! I've passed your details to our events team."),
        ("Case study|Marketing", "Our marketing team would like to write a case study with you about how we use Shiftwise.",
         "We'd love that! I've introduced you to our marketing team by email."),
    ),
}
# Spam and auto-replies are complete messages: no greeting or signature is added.
SPAM: tuple[tuple[str, str], ...] = (
    ("Automatic reply: {subject_ref}", "I am out of the office until {weekday} with limited access to email. For urgent matters please contact {person}."),
    ("Out of Office: {subject_ref}", "Thank you for your email. I'm on annual leave and will respond when I'm back."),
    ("Rank higher on Google", "Hi, I came across your website and noticed it could rank much higher on Google. We offer affordable SEO services with guaranteed first-page results. Reply for a free audit."),
    ("Guest post opportunity", "Hello, we would like to publish a guest post on your blog with two do-follow backlinks. We can offer a generous fee. Let me know your price."),
    ("Exclusive investment opportunity", "Dear friend, get in early on a new crypto token backed by real estate. 40% monthly returns guaranteed. Limited spots."),
    ("LED lighting supplier", "Dear Sir/Madam, we are a leading supplier of LED panels and tubes for offices and warehouses. Please find our catalogue attached."),
    ("Your mailbox is almost full", "Your mailbox has exceeded its storage limit. Click the link below to verify your account or your messages will be deleted within 24 hours."),
    ("Undeliverable: {subject_ref}", "Delivery has failed to these recipients or groups. The recipient's mailbox is full and can't accept messages now."),
    ("unsubscribe", "Unsubscribe me from your list."),
    ("App development services", "We build mobile apps for businesses like yours at a fraction of the usual cost. Can we book a 15 minute call?"),
    ("Domain for sale", "Hello, I want to buy your company's domain. Name your price."),
    ("Automatic reply: {subject_ref}", "Thanks for your message. This mailbox is not monitored. For support please contact your manager."),
)
SPAM_SUBJECT_REFS: tuple[str, ...] = (
    "Your schedule for next week", "Shift reminder", "Welcome to Shiftwise", "Your ticket has been updated",
    "Timesheet approval needed", "Open shift available",
)


# --- what wraps a customer's message -----------------------------------------------------------------

GREETINGS: tuple[str, ...] = (
    "Hi,", "Hello,", "Hi there,", "Hello team,", "Hi Shiftwise team,", "Dear Support,", "Good morning,", "Hey,",
    "Hi support,", "To whom it may concern,", "Hi all,", "Good afternoon,", "Hey team,", "Hello support team,",
)
NON_NATIVE_GREETINGS: tuple[str, ...] = (
    "Hello together,", "Dear Sir or Madam,", "Good day,", "Hello dear support team,", "Dear Shiftwise team,",
)
CLOSINGS: tuple[str, ...] = (
    "Thanks,", "Thanks in advance,", "Best regards,", "Kind regards,", "Cheers,", "Many thanks,", "Regards,",
    "Thank you,", "Best,", "Thanks for your help,", "Speak soon,", "Thx,",
)
NON_NATIVE_CLOSINGS: tuple[str, ...] = (
    "Thanks in advance and best regards", "With kind regards", "Greetings from {city},",
    "Thank you for your help in advance,", "Best greetings,",
)
CONTEXT_SENTENCES: tuple[str, ...] = (
    "We're a {industry_desc} with about {n_staff} employees and we use Shiftwise for all our scheduling.",
    "I manage the schedule for {site}.",
    "I'm writing on behalf of our {staff} at {site}.",
    "We've been using Shiftwise for a couple of years and are generally very happy with it.",
    "Hope you're well.",
    "I hope this is the right place to ask.",
    "I'm the admin for our account.",
    "We switched to Shiftwise earlier this year.",
    "I look after {n_staff} staff across several sites.",
)
ISSUE_CONTEXT_SENTENCES: tuple[str, ...] = (  # only where something is wrong
    "Apologies if this has been reported already.", "Sorry to bother you again.",
    "We've been having a problem for a few days now.", "Not sure if this is on our side or yours.",
)
DETAIL_SENTENCES: tuple[str, ...] = (
    "I've attached a screenshot.", "We've tried logging out and back in.", "This is affecting several people, not just me.",
    "Please let me know if you need anything else from us.", "Could you let me know when this will be fixed?",
    "Any help would be appreciated.", "Happy to jump on a call if that's easier.", "Can you look into it?",
    "This has been going on for a few days now.", "Let me know what you need from my side.",
    "We haven't changed any settings recently.", "Our managers are getting frustrated.",
)
SIGNATURES: tuple[str, ...] = (
    "{name}\n{title}\n{company}",
    "{name} | {title} | {company}\n{phone}",
    "{first}",
    "-- \n{name}\n{title}, {company}",
    "{name}\n{company}",
    "{first} {last_initial}.",
    "{name}\n{title}\n{company}\nM: {phone}\n{email}",
    "{first}\n{company}",
)
DEVICE_FOOTERS: tuple[str, ...] = ("Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android", "Sent from my iPad")
DISCLAIMERS: tuple[str, ...] = (
    "CONFIDENTIALITY NOTICE: This e-mail and any attachments are for the exclusive and confidential use of the "
    "intended recipient. If you are not the intended recipient, please do not read, distribute or take action "
    "in reliance upon this message.",
    "This email has been scanned for viruses by our IT provider.",
    "Please consider the environment before printing this email.",
)
FORWARD_INTROS: tuple[str, ...] = (
    "Hi, forwarding this from one of our {staff}. Can you help?",
    "See below from one of my team. This is happening to others too.",
    "FYI - forwarding from our {role}. Please advise.",
    "Forwarding. Can someone take a look?",
    "Hi, please see the email below.",
)
QUOTED_NOISE: tuple[str, ...] = (
    "On {quote_date}, Shiftwise <notifications@shiftwise.example> wrote:\n> Your schedule for the week of {quote_week} has been published.\n> Open the Shiftwise app to see your shifts.",
    "On {quote_date}, Shiftwise Support <support@shiftwise.example> wrote:\n> Hi,\n> Thanks for getting in touch. Is there anything else we can help with?\n> Best,\n> Shiftwise Support",
    "-----Original Message-----\nFrom: Shiftwise <no-reply@shiftwise.example>\nSent: {quote_date}\nSubject: Timesheet approval needed\n\nYou have timesheets waiting for approval.",
)
CHAT_OPENERS: tuple[str, ...] = ("hi", "hello", "hey", "hi there", "Hi!", "hello?", "hi, quick one")
PHONE_CALL_INTROS: tuple[str, ...] = (
    "Customer called in. Summary:", "Phone call from {name} ({company}):", "Logged from a call with the customer:",
    "Call notes:",
)
WIDGET_FOOTERS: tuple[str, ...] = (
    "--\nSent from the Shiftwise help widget\nPage: {page}\nBrowser: {browser}",
    "[Submitted via in-app feedback form]",
    "--\nSubmitted from Shiftwise web app, account {company}",
)
WIDGET_PAGES: tuple[str, ...] = ("/dashboard", "/home", "/people", "/schedule", "/timesheets", "/settings", "/reports")
SDK_FOOTERS: tuple[str, ...] = (
    "--\nApp version: {app_version}\nDevice: {device}\nOS: {os}",
    "[Sent from the Shiftwise mobile app]",
)

# Non-native English: (pattern, replacement), each applied with some probability.
NON_NATIVE_REWRITES: tuple[tuple[str, str], ...] = (
    ("doesn't work", "is not working"), ("can't", "can not"), ("Could you", "Can you please"),
    ("a few", "some"), ("people", "persons"), ("for the last week", "since one week"),
    ("information", "informations"), ("I'm", "I am"), ("We've", "We have"), ("don't", "do not"),
    ("since yesterday", "since yesterday already"), ("Thanks", "Thank you very much"),
    ("the app", "the App"), ("employees", "employes"),
)

# Contact details customers paste in. All are reserved test values: example.com addresses, 555-01xx
# and Ofcom drama numbers, documentation IP ranges, test card numbers and the published example IBANs.
PII_SNIPPETS: tuple[str, ...] = (
    "You can reach me on {phone} if it's easier to talk.",
    "My direct email is {email} if you need anything.",
    "Our office IP is {ip} in case you need it for the logs.",
    "The affected user is {email}.",
    "Call me: {phone}",
    "Mobile: {phone}",
    "Please reply to {email}, I'm not always at this desk.",
    "Our firewall only allows {ip}, if that matters.",
)
BILLING_PII_SNIPPETS: tuple[str, ...] = (
    "The card we use is {card}, exp 11/27.",
    "Please refund to our account: IBAN {iban}.",
    "It was on the card ending {card_last4}, full number {card} if you need it.",
    "Our bank details for the refund: {iban} (BIC COBADEFFXXX).",
)
TEST_CARDS: tuple[str, ...] = ("4111 1111 1111 1111", "5555 5555 5555 4444", "4242 4242 4242 4242", "4000 0566 5566 5556")
TEST_IBANS: tuple[str, ...] = (
    "DE89 3704 0044 0532 0130 00", "GB29 NWBK 6016 1331 9268 19", "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00", "ES91 2100 0418 4502 0005 1332",
)
PHONE_FORMATS: tuple[str, ...] = ("+1 415 555 01{d2}", "020 7946 0{d3}", "(312) 555-01{d2}", "+44 20 7946 0{d3}", "+1 (646) 555-01{d2}")
IP_PREFIXES: tuple[str, ...] = ("192.0.2.", "198.51.100.", "203.0.113.")


# --- the conversation after the first message ----------------------------------------------------------

AGENT_SIGNOFFS: tuple[str, ...] = ("Best,", "Kind regards,", "Cheers,", "Thanks,", "All the best,", "Best wishes,")
# First agent reply to a product issue, by issue type.
AGENT_ACKS: dict[str, tuple[str, ...]] = {
    "bug": (
        "Thanks for reaching out, and sorry for the trouble. Could you tell me which device and version you're using, and roughly when this last happened? A screenshot would help too.",
        "Thanks for the detailed report. I've reproduced this on our side and passed it to our engineering team. I'll update you as soon as I hear back.",
        "Sorry about this! Our team is aware and working on a fix. I've linked your ticket so you'll hear from us when it's resolved.",
        "Thanks for flagging. Could you send me the name of one affected employee and the date, so I can check our logs?",
        "I understand how disruptive this is. I've escalated it to our product team with high priority and will keep you posted.",
    ),
    "friction": (
        "Thanks for the feedback, and sorry this is slowing you down. I've shared it with our product team.",
        "Thanks for taking the time to write this up. Could you tell me roughly how often this happens and for how many people?",
        "I hear you, that does sound tedious. I've passed this on to the team that owns this part of the product.",
    ),
    "ux_confusion": (
        "Thanks for letting us know. You're not the first to find this part confusing. I've shared your feedback with our design team, and I'm happy to walk you through it on a call.",
        "Good question! I know the screen isn't as clear as it should be. Could you tell me what you expected to happen, so I can pass that on?",
        "Sorry for the confusion. I've written up what you ran into for our product designers.",
    ),
    "feature_request": (
        "Thanks for the suggestion! I've logged it with our product team; they review requests every month.",
        "That's a great idea. It isn't possible today, but I've added your vote to the request so the team can see the demand.",
        "Thanks for sharing this! I can't promise a date, but I've passed it on with your use case.",
    ),
    "documentation_gap": (
        "Thanks for pointing that out, you're right that the article is out of date. I've asked our docs team to update it.",
        "Sorry about the confusing instructions. I've flagged the page for an update and will send you the correct steps shortly.",
        "Thanks for letting us know. Let me check with the team and get you the up-to-date steps.",
    ),
    "data_issue": (
        "Thanks for the examples, that's really helpful. I've asked our engineers to check the calculation for your account.",
        "I'm sorry about this, I know how important correct numbers are. Could you send two or three examples (employee and date)?",
        "Thanks for reporting this. I've escalated it as a priority, as it affects pay. I'll come back to you as soon as I know more.",
    ),
}
# Questions agents ask, by where the problem lives.
AGENT_ASKS: dict[str, tuple[str, ...]] = {
    "general": (
        "Could you send us a screenshot of what you see?",
        "Could you confirm the date and the employee affected so I can take a closer look?",
        "Just checking in: are you still seeing this?",
        "Could you tell me roughly when this started, and whether anything changed on your side around then?",
    ),
    "web": (
        "Could you let me know which browser and version you're using?",
        "Could you try signing out and back in and let us know if it helps?",
        "Could you try a private window and let me know if it behaves the same?",
    ),
    "mobile": (
        "Would you be able to send the app version? You'll find it in the app's settings.",
        "Is this still happening for you after updating the app?",
        "Which phone model is this on? And does it happen on wifi and mobile data?",
    ),
    "request": (  # feature requests and documentation gaps
        "Could you tell me a bit more about how you'd use this, so I can add it to the request?",
        "Which page or article were you looking at? A link would help our docs team.",
        "How many of your managers would use this? It helps the team prioritise.",
    ),
    "billing": (
        "Could you send me the dates and amounts of the payments, and the last four digits of the card?",
        "Could you forward the invoice or receipt in question so I can check it against our records?",
    ),
}
AGENT_RESOLUTIONS: dict[str, tuple[str, ...]] = {
    "bug": (
        "Good news: our engineers have released a fix for this. Could you check and let us know if you still see the problem?",
        "This should now be resolved after today's release. I'll mark this ticket as solved, but just reply if anything still looks off.",
        "We found the cause and a fix is live. Sorry again for the trouble!",
    ),
    "data_issue": (
        "We found the cause and corrected the affected records for your account. Sorry again for the trouble.",
        "A fix has been released and the figures for the affected period have been recalculated. Please have a look and let me know if anything still doesn't match.",
    ),
    "friction": (
        "I've passed your feedback on to our product team. I'll close this ticket for now, but feel free to reply any time.",
        "Here's a workaround several customers use in the meantime: do it from the web app rather than the phone, where it's a bit quicker. Let me know if that helps.",
    ),
    "ux_confusion": (
        "I hope the walkthrough helped! I'll close this for now, and I've shared your feedback with our designers.",
        "Glad we got there in the end. Your feedback is with the design team so the screen can be made clearer.",
    ),
    "feature_request": (
        "I've added your request to our roadmap tracker. I'll close this ticket for now; we'll announce it in our release notes if it ships.",
        "Thanks again for the idea. It's now on the list the product team reviews, so I'll close this ticket for now.",
    ),
    "documentation_gap": (
        "The article has now been updated. Thanks again for flagging it!",
        "Here are the current steps, and the help centre page has been corrected as well. Let me know if anything is still unclear.",
    ),
}
# An agent's later reply on a non-issue ticket (the first answer comes with the message itself).
AGENT_NON_ISSUE_FOLLOWUPS: tuple[str, ...] = (
    "You're welcome! Anything else I can help with?", "Great, I'll close this ticket then.",
    "Happy to help. Have a good week!", "Perfect. Let us know if you need anything else.",
)
NON_ISSUE_NOTES: tuple[str, ...] = (
    "customer on {plan_label} plan", "Forwarded to sales.", "Sent the standard macro.", "Checked the account, all fine.",
    "Verified the requester is an admin.", "Looped in the account manager.", "cc billing",
)
INTERNAL_NOTES: tuple[str, ...] = (
    "escalated to eng, {jira}", "customer on {plan_label} plan", "Linked to {jira}.", "Reproduced on staging with their settings.",
    "Asked for HAR file and app logs.", "Known problem, see the #support-escalations thread from {weekday}.",
    "Big account, renewal in {month}. Handle with care.", "Checked logs, request IDs added to {jira}.",
    "Waiting on eng for an ETA.", "Merged duplicate ticket #{ref} into this one.", "Tier 2 please.",
    "Customer is frustrated, offered a call.", "@{agent_other} can you take a look? You handled something similar last week.",
    "Same as the ones from last week, added to {jira}.",
)
BILLING_NOTES: tuple[str, ...] = (
    "Refund processed in Stripe, ref ch_{hex}.", "Checked Stripe: two captures on the same day.", "Forwarded to finance.",
    "Credit note issued.",
)
HOLD_NOTES: tuple[str, ...] = (
    "On hold until eng confirms the fix ({jira}).", "Waiting on the customer's IT team.", "Parked until the next release.",
    "Pending vendor response.",
)
NON_ISSUE_HOLD_NOTES: tuple[str, ...] = (
    "Waiting on finance to confirm.", "Waiting for the account owner to confirm.", "Waiting on sales.",
    "Pending legal review of their DPA changes.",
)
SPAM_NOTES: tuple[str, ...] = ("Spam, closing.", "Auto-reply, closing.", "spam", "Not a customer.")
FOLLOWUPS_STILL: tuple[str, ...] = (  # the customer chases
    "Still happening.", "Any update on this? It's still broken for us.", "It happened again this morning to {n_people} more people.",
    "Hi, just chasing this. Our managers keep asking me.", "Any news? This is really affecting us.", "still the same",
    "Following up on this.", "Hi again, this is still a problem for us. Can you give me an ETA?",
)
FOLLOWUPS_ANSWERS: tuple[str, ...] = (  # the customer answers the agent's question
    "Here's the screenshot you asked for.", "I tried that, no change.", "Sorry for the slow reply. Yes, it still happens.",
    "It was {coworker}, on {weekday}. Happened again today.", "Yes, still happening. Screenshot attached.",
    "Tried it, same result.",
)
FOLLOWUPS_REQUEST: tuple[str, ...] = (  # chasing a feature request or a docs fix
    "Any news on this?", "Is there an ETA for this?", "Our other managers are asking for this too.",
    "Mostly for building the weekly rota, every single week.", "It was the article on the time clock, linked from the settings page.",
    "Just checking whether this is planned.",
)
FOLLOWUPS_MOBILE: tuple[str, ...] = (
    "We're on {iphone}, {ios}, app version {old_app}.", "It's a {android_device} on {android}, app {old_app}. Happens on wifi and on 4G.",
    "App is up to date. Still the same.",
)
FOLLOWUPS_RESOLVED: tuple[str, ...] = (
    "That worked, thanks!", "Confirmed fixed on our end. Thanks.", "Great, thank you.",
    "Looks good now, thanks for sorting it.", "thanks, all good", "Perfect, thank you!",
)
FOLLOWUPS_NON_ISSUE: tuple[str, ...] = ("Thanks!", "Perfect, thank you.", "Got it, thanks.", "Ok, I'll check.", "Thank you!")
