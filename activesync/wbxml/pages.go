package wbxml

import (
	"fmt"
	"strconv"
	"strings"
)

// The EAS code pages of [MS-ASWBXML] 2.1.2.1.1 to 2.1.2.1.26. Each entry lists the
// page's tokens (hexadecimal) with the tag names exactly as the specification
// spells them; the page name is also the XML namespace name used by [MS-ASCMD]
// (without the trailing colon some WBXML tools add). Tokens below 0x05 are the
// global tokens of WBXML 1.3 §7.1 and never name a tag.
//
// A few tokens that [MS-ASWBXML] marks as used only by protocol version 2.5 (for
// example Email Attachment 0x05) are kept so that a decoder meeting them from an
// old client can still name them; Gatehouse never sends them.
var pageSource = [NumPages]struct{ name, tags string }{
	0: {"AirSync", `05 Sync 06 Responses 07 Add 08 Change 09 Delete 0A Fetch 0B SyncKey
		0C ClientId 0D ServerId 0E Status 0F Collection 10 Class 12 CollectionId
		13 GetChanges 14 MoreAvailable 15 WindowSize 16 Commands 17 Options 18 FilterType
		1B Conflict 1C Collections 1D ApplicationData 1E DeletesAsMoves 20 Supported
		21 SoftDelete 22 MIMESupport 23 MIMETruncation 24 Wait 25 Limit 26 Partial
		27 ConversationMode 28 MaxItems 29 HeartbeatInterval`},
	1: {"Contacts", `05 Anniversary 06 AssistantName 07 AssistantPhoneNumber 08 Birthday
		09 Body 0A BodySize 0B BodyTruncated 0C Business2PhoneNumber 0D BusinessAddressCity
		0E BusinessAddressCountry 0F BusinessAddressPostalCode 10 BusinessAddressState
		11 BusinessAddressStreet 12 BusinessFaxNumber 13 BusinessPhoneNumber 14 CarPhoneNumber
		15 Categories 16 Category 17 Children 18 Child 19 CompanyName 1A Department
		1B Email1Address 1C Email2Address 1D Email3Address 1E FileAs 1F FirstName
		20 Home2PhoneNumber 21 HomeAddressCity 22 HomeAddressCountry 23 HomeAddressPostalCode
		24 HomeAddressState 25 HomeAddressStreet 26 HomeFaxNumber 27 HomePhoneNumber
		28 JobTitle 29 LastName 2A MiddleName 2B MobilePhoneNumber 2C OfficeLocation
		2D OtherAddressCity 2E OtherAddressCountry 2F OtherAddressPostalCode
		30 OtherAddressState 31 OtherAddressStreet 32 PagerNumber 33 RadioPhoneNumber
		34 Spouse 35 Suffix 36 Title 37 WebPage 38 YomiCompanyName 39 YomiFirstName
		3A YomiLastName 3C Picture 3D Alias 3E WeightedRank`},
	2: {"Email", `05 Attachment 06 Attachments 07 AttName 08 AttSize 09 Att0Id 0A AttMethod
		0B AttRemoved 0C Body 0D BodySize 0E BodyTruncated 0F DateReceived 10 DisplayName
		11 DisplayTo 12 Importance 13 MessageClass 14 Subject 15 Read 16 To 17 Cc 18 From
		19 ReplyTo 1A AllDayEvent 1B Categories 1C Category 1D DtStamp 1E EndTime
		1F InstanceType 20 BusyStatus 21 Location 22 MeetingRequest 23 Organizer
		24 RecurrenceId 25 Reminder 26 ResponseRequested 27 Recurrences 28 Recurrence
		29 Type 2A Until 2B Occurrences 2C Interval 2D DayOfWeek 2E DayOfMonth
		2F WeekOfMonth 30 MonthOfYear 31 StartTime 32 Sensitivity
		33 TimeZone 34 GlobalObjId 35 ThreadTopic 36 MIMEData 37 MIMETruncated 38 MIMESize
		39 InternetCPID 3A Flag 3B Status 3C ContentClass 3D FlagType 3E CompleteTime
		3F DisallowNewTimeProposal`},
	// [MS-ASWBXML] 2.1.2.1.4: code page 3 is no longer in use; its historical
	// tokens are kept for decoding.
	3: {"AirNotify", `05 Notify 06 Notification 07 Version 08 LifeTime 09 DeviceInfo
		0A Enable 0B Folder 0C ServerId 0D DeviceAddress 0E ValidCarrierProfiles
		0F CarrierProfile 10 Status 11 Responses 12 Devices 13 Device 14 Id 15 Expiry
		16 NotifyGUID 17 DeviceFriendlyName`},
	4: {"Calendar", `05 Timezone 06 AllDayEvent 07 Attendees 08 Attendee 09 Email 0A Name
		0B Body 0C BodyTruncated 0D BusyStatus 0E Categories 0F Category 11 DtStamp
		12 EndTime 13 Exception 14 Exceptions 15 Deleted 16 ExceptionStartTime 17 Location
		18 MeetingStatus 19 OrganizerEmail 1A OrganizerName 1B Recurrence 1C Type 1D Until
		1E Occurrences 1F Interval 20 DayOfWeek 21 DayOfMonth 22 WeekOfMonth 23 MonthOfYear
		24 Reminder 25 Sensitivity 26 Subject 27 StartTime 28 UID 29 AttendeeStatus
		2A AttendeeType 33 DisallowNewTimeProposal 34 ResponseRequested
		35 AppointmentReplyTime 36 ResponseType 37 CalendarType 38 IsLeapMonth
		39 FirstDayOfWeek 3A OnlineMeetingConfLink 3B OnlineMeetingExternalLink 3C ClientUid`},
	5: {"Move", `05 MoveItems 06 Move 07 SrcMsgId 08 SrcFldId 09 DstFldId 0A Response
		0B Status 0C DstMsgId`},
	6: {"GetItemEstimate", `05 GetItemEstimate 06 Version 07 Collections 08 Collection
		09 Class 0A CollectionId 0B DateTime 0C Estimate 0D Response 0E Status`},
	7: {"FolderHierarchy", `07 DisplayName 08 ServerId 09 ParentId 0A Type 0C Status
		0E Changes 0F Add 10 Delete 11 Update 12 SyncKey 13 FolderCreate 14 FolderDelete
		15 FolderUpdate 16 FolderSync 17 Count`},
	8: {"MeetingResponse", `05 CalendarId 06 CollectionId 07 MeetingResponse 08 RequestId
		09 Request 0A Result 0B Status 0C UserResponse 0E InstanceId 10 ProposedStartTime
		11 ProposedEndTime 12 SendResponse`},
	9: {"Tasks", `05 Body 06 BodySize 07 BodyTruncated 08 Categories 09 Category 0A Complete
		0B DateCompleted 0C DueDate 0D UtcDueDate 0E Importance 0F Recurrence 10 Type
		11 Start 12 Until 13 Occurrences 14 Interval 15 DayOfMonth 16 DayOfWeek
		17 WeekOfMonth 18 MonthOfYear 19 Regenerate 1A DeadOccur 1B ReminderSet
		1C ReminderTime 1D Sensitivity 1E StartDate 1F UtcStartDate 20 Subject
		22 OrdinalDate 23 SubOrdinalDate 24 CalendarType 25 IsLeapMonth 26 FirstDayOfWeek`},
	10: {"ResolveRecipients", `05 ResolveRecipients 06 Response 07 Status 08 Type
		09 Recipient 0A DisplayName 0B EmailAddress 0C Certificates 0D Certificate
		0E MiniCertificate 0F Options 10 To 11 CertificateRetrieval 12 RecipientCount
		13 MaxCertificates 14 MaxAmbiguousRecipients 15 CertificateCount 16 Availability
		17 StartTime 18 EndTime 19 MergedFreeBusy 1A Picture 1B MaxSize 1C Data
		1D MaxPictures`},
	11: {"ValidateCert", `05 ValidateCert 06 Certificates 07 Certificate 08 CertificateChain
		09 CheckCRL 0A Status`},
	12: {"Contacts2", `05 CustomerId 06 GovernmentId 07 IMAddress 08 IMAddress2 09 IMAddress3
		0A ManagerName 0B CompanyMainPhone 0C AccountName 0D NickName 0E MMS`},
	13: {"Ping", `05 Ping 06 AutdState 07 Status 08 HeartbeatInterval 09 Folders 0A Folder
		0B Id 0C Class 0D MaxFolders`},
	14: {"Provision", `05 Provision 06 Policies 07 Policy 08 PolicyType 09 PolicyKey 0A Data
		0B Status 0C RemoteWipe 0D EASProvisionDoc 0E DevicePasswordEnabled
		0F AlphanumericDevicePasswordRequired 10 RequireStorageCardEncryption
		11 PasswordRecoveryEnabled 13 AttachmentsEnabled 14 MinDevicePasswordLength
		15 MaxInactivityTimeDeviceLock 16 MaxDevicePasswordFailedAttempts
		17 MaxAttachmentSize 18 AllowSimpleDevicePassword 19 DevicePasswordExpiration
		1A DevicePasswordHistory 1B AllowStorageCard 1C AllowCamera 1D RequireDeviceEncryption
		1E AllowUnsignedApplications 1F AllowUnsignedInstallationPackages
		20 MinDevicePasswordComplexCharacters 21 AllowWiFi 22 AllowTextMessaging
		23 AllowPOPIMAPEmail 24 AllowBluetooth 25 AllowIrDA 26 RequireManualSyncWhenRoaming
		27 AllowDesktopSync 28 MaxCalendarAgeFilter 29 AllowHTMLEmail 2A MaxEmailAgeFilter
		2B MaxEmailBodyTruncationSize 2C MaxEmailHTMLBodyTruncationSize
		2D RequireSignedSMIMEMessages 2E RequireEncryptedSMIMEMessages
		2F RequireSignedSMIMEAlgorithm 30 RequireEncryptionSMIMEAlgorithm
		31 AllowSMIMEEncryptionAlgorithmNegotiation 32 AllowSMIMESoftCerts 33 AllowBrowser
		34 AllowConsumerEmail 35 AllowRemoteDesktop 36 AllowInternetSharing
		37 UnapprovedInROMApplicationList 38 ApplicationName 39 ApprovedApplicationList
		3A Hash 3B AccountOnlyRemoteWipe`},
	15: {"Search", `05 Search 07 Store 08 Name 09 Query 0A Options 0B Range 0C Status
		0D Response 0E Result 0F Properties 10 Total 11 EqualTo 12 Value 13 And 14 Or
		15 FreeText 17 DeepTraversal 18 LongId 19 RebuildResults 1A LessThan 1B GreaterThan
		1E UserName 1F Password 20 ConversationId 21 Picture 22 MaxSize 23 MaxPictures`},
	16: {"GAL", `05 DisplayName 06 Phone 07 Office 08 Title 09 Company 0A Alias 0B FirstName
		0C LastName 0D HomePhone 0E MobilePhone 0F EmailAddress 10 Picture 11 Status 12 Data`},
	17: {"AirSyncBase", `05 BodyPreference 06 Type 07 TruncationSize 08 AllOrNone 0A Body
		0B Data 0C EstimatedDataSize 0D Truncated 0E Attachments 0F Attachment
		10 DisplayName 11 FileReference 12 Method 13 ContentId 14 ContentLocation
		15 IsInline 16 NativeBodyType 17 ContentType 18 Preview 19 BodyPartPreference
		1A BodyPart 1B Status 1C Add 1D Delete 1E ClientId 1F Content 20 Location
		21 Annotation 22 Street 23 City 24 State 25 Country 26 PostalCode 27 Latitude
		28 Longitude 29 Accuracy 2A Altitude 2B AltitudeAccuracy 2C LocationUri 2D InstanceId`},
	18: {"Settings", `05 Settings 06 Status 07 Get 08 Set 09 Oof 0A OofState 0B StartTime
		0C EndTime 0D OofMessage 0E AppliesToInternal 0F AppliesToExternalKnown
		10 AppliesToExternalUnknown 11 Enabled 12 ReplyMessage 13 BodyType 14 DevicePassword
		15 Password 16 DeviceInformation 17 Model 18 IMEI 19 FriendlyName 1A OS
		1B OSLanguage 1C PhoneNumber 1D UserInformation 1E EmailAddresses 1F SMTPAddress
		20 UserAgent 21 EnableOutboundSMS 22 MobileOperator 23 PrimarySmtpAddress 24 Accounts
		25 Account 26 AccountId 27 AccountName 28 UserDisplayName 29 SendDisabled
		2B RightsManagementInformation`},
	19: {"DocumentLibrary", `05 LinkId 06 DisplayName 07 IsFolder 08 CreationDate
		09 LastModifiedDate 0A IsHidden 0B ContentLength 0C ContentType`},
	20: {"ItemOperations", `05 ItemOperations 06 Fetch 07 Store 08 Options 09 Range 0A Total
		0B Properties 0C Data 0D Status 0E Response 0F Version 10 Schema 11 Part
		12 EmptyFolderContents 13 DeleteSubFolders 14 UserName 15 Password 16 Move
		17 DstFldId 18 ConversationId 19 MoveAlways`},
	21: {"ComposeMail", `05 SendMail 06 SmartForward 07 SmartReply 08 SaveInSentItems
		09 ReplaceMime 0B Source 0C FolderId 0D ItemId 0E LongId 0F InstanceId 10 Mime
		11 ClientId 12 Status 13 AccountId 15 Forwardees 16 Forwardee 17 ForwardeeName
		18 ForwardeeEmail`},
	22: {"Email2", `05 UmCallerID 06 UmUserNotes 07 UmAttDuration 08 UmAttOrder
		09 ConversationId 0A ConversationIndex 0B LastVerbExecuted 0C LastVerbExecutionTime
		0D ReceivedAsBcc 0E Sender 0F CalendarType 10 IsLeapMonth 11 AccountId
		12 FirstDayOfWeek 13 MeetingMessageType 15 IsDraft 16 Bcc 17 Send`},
	23: {"Notes", `05 Subject 06 MessageClass 07 LastModifiedDate 08 Categories 09 Category`},
	24: {"RightsManagement", `05 RightsManagementSupport 06 RightsManagementTemplates
		07 RightsManagementTemplate 08 RightsManagementLicense 09 EditAllowed 0A ReplyAllowed
		0B ReplyAllAllowed 0C ForwardAllowed 0D ModifyRecipientsAllowed 0E ExtractAllowed
		0F PrintAllowed 10 ExportAllowed 11 ProgrammaticAccessAllowed 12 Owner
		13 ContentExpiryDate 14 TemplateID 15 TemplateName 16 TemplateDescription
		17 ContentOwner 18 RemoveRightsManagementProtection`},
	25: {"Find", `05 Find 06 SearchId 07 ExecuteSearch 08 MailBoxSearchCriterion 09 Query
		0A Status 0B FreeText 0C Options 0D Range 0E DeepTraversal 11 Response 12 Result
		13 Properties 14 Preview 15 HasAttachments 16 Total 17 DisplayCc 18 DisplayBcc
		19 GalSearchCriterion 20 MaxPictures 21 MaxSize 22 Picture`},
}

// NumPages is the number of EAS code pages, 0 to 25 ([MS-ASWBXML] 2.1.2.1).
const NumPages = 26

type codePage struct {
	name   string
	tags   [64]string // by token; "" where the page assigns nothing
	tokens map[string]byte
}

type codeTables struct {
	pages  [NumPages]codePage
	byName map[string]byte // namespace name -> page number
}

var tables = buildTables()

func buildTables() *codeTables {
	t := &codeTables{byName: make(map[string]byte, NumPages)}
	for i, src := range pageSource {
		p := &t.pages[i]
		p.name = src.name
		p.tokens = make(map[string]byte)
		f := strings.Fields(src.tags)
		if len(f)%2 != 0 {
			panic(fmt.Sprintf("wbxml: code page %d: odd table", i))
		}
		for j := 0; j < len(f); j += 2 {
			tok, err := strconv.ParseUint(f[j], 16, 8)
			if err != nil || tok < 0x05 || tok > 0x3F {
				panic(fmt.Sprintf("wbxml: code page %d: bad token %q", i, f[j]))
			}
			name := f[j+1]
			if p.tags[tok] != "" {
				panic(fmt.Sprintf("wbxml: code page %d: token %s twice", i, f[j]))
			}
			if _, dup := p.tokens[name]; dup {
				panic(fmt.Sprintf("wbxml: code page %d: tag %s twice", i, name))
			}
			p.tags[tok] = name
			p.tokens[name] = byte(tok)
		}
		t.byName[p.name] = byte(i)
	}
	return t
}

// PageName returns the name of code page page (also its XML namespace name), or ""
// if there is no such EAS code page.
func PageName(page byte) string {
	if int(page) >= NumPages {
		return ""
	}
	return tables.pages[page].name
}

// PageOf returns the code page whose namespace name is space.
func PageOf(space string) (page byte, ok bool) {
	page, ok = tables.byName[space]
	return page, ok
}

// TagName returns the tag name of token (0x05–0x3F, without the content and
// attribute bits) on code page page, or "" if the page assigns no tag to it.
func TagName(page, token byte) string {
	if int(page) >= NumPages || token > 0x3F {
		return ""
	}
	return tables.pages[page].tags[token]
}

// Token returns the code page and token of tag in namespace space.
func Token(space, tag string) (page, token byte, ok bool) {
	page, ok = tables.byName[space]
	if !ok {
		return 0, 0, false
	}
	token, ok = tables.pages[page].tokens[tag]
	return page, token, ok
}

// Tags returns the tag names of code page page in token order.
func Tags(page byte) []string {
	if int(page) >= NumPages {
		return nil
	}
	var out []string
	for _, name := range tables.pages[page].tags {
		if name != "" {
			out = append(out, name)
		}
	}
	return out
}
